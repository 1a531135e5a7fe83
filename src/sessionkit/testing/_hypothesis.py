"""Registers sessionkit's strategies with Hypothesis, through its ``hypothesis`` entry point.

Hypothesis calls :func:`_hypothesis_setup_hook` when it is imported, so that
``st.from_type(Event)``, ``st.from_type(Participant)`` and ``st.from_type(Rules)`` draw
sessionkit values. Nothing here runs unless Hypothesis is installed and imported.
"""

from __future__ import annotations

__all__: list[str] = []


def _hypothesis_setup_hook() -> None:
    from hypothesis import strategies as st

    from sessionkit import Event, Participant, Rules
    from sessionkit.testing import strategies

    st.register_type_strategy(Event, strategies.events())
    st.register_type_strategy(Participant, strategies.participants())
    st.register_type_strategy(Rules, strategies.rules())
