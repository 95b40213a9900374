"""Scheduling profiles: which plugins run, with what weights and arguments, and
loading them from a ``KubeSchedulerConfiguration``."""

from .profile import FitArgs, Profile

__all__ = ["Profile", "FitArgs"]
