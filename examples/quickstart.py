"""Group a small bundled conversation log into sessions and print each as a thread tree.

python -m pip install . && python examples/quickstart.py
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from sessionkit import Event, Participant, ParticipantKind, Session, sessionize

LOG = Path(__file__).with_name("conversation.jsonl")


def read_events(path: Path) -> list[Event]:
    """The log's lines as Events (a minimal reader for this example's layout)."""
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        initiator = row["initiator"]
        events.append(
            Event(
                id=row["event_id"],
                at=datetime.fromisoformat(row["timestamp"]),
                initiator=Participant(ParticipantKind(initiator["type"]), initiator["name"]),
                user_id=row.get("metadata", {}).get("user_id"),
                session_id=row.get("session_id"),
                parent_id=row.get("parent_event_id"),
                ends_session=row.get("session_end", False),
                input=row.get("input"),
            )
        )
    return events


def show(session: Session) -> None:
    """Print one session: a summary line, then its thread tree, indented by depth."""
    kind = "explicit" if session.explicit else "implicit"
    header = "" if session.header else ", no header"
    reason = f" ({session.close_reason.value})" if session.close_reason else ""
    print(f"session {session.id} [{kind}{header}, {session.status.value}{reason}]")
    for root in session.roots:
        for depth, node in root.walk():
            e = node.event
            who = f"{e.initiator.kind.value} {e.initiator.id}"
            print(f"{'    ' * (depth + 1)}{e.at:%H:%M:%S}  {who}: {e.input}")
    print()


def main() -> None:
    for session in sessionize(read_events(LOG)):
        show(session)


if __name__ == "__main__":
    main()
