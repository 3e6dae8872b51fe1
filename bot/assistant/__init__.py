"""The assistant: LLM summaries of changes and answers to questions in plain words."""
