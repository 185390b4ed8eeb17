"""Student-to-tutor matching: hard filters in SQL, weighted scoring in Python, blocks."""
