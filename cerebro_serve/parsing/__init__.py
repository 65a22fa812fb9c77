"""Documents (PDF, DOCX, text) into Profile and Job objects. Arrives with the parsing issue (#3)."""
