"""RQ job functions (jobs.tasks), periodic schedule (jobs.schedule) and the worker entry (jobs.worker)."""
