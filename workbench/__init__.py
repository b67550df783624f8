"""LLM-assisted assignment workbench: problem packs, prompting, traces, checks, writeups."""

__version__ = "0.1.0"
