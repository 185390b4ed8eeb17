"""Learning progress: students' learning goals, tutors' session notes, the student dashboard and tutor impact."""
