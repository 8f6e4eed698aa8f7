"""The content workspace: texts, their status, drafts, review and live publishing."""
