"""The ``trib`` command: a thin layer that calls the stages and renders what they return."""
