"""One module per model provider behind one interface (:mod:`.base`), listed in :mod:`.registry`.

Anthropic (Claude), Ollama, OpenAI-compatible local servers, embedded llama.cpp, and the
deterministic scripted model for tests and demos. Adding a provider: one module, one registry
line, one entry in the provider contract suite.
"""
