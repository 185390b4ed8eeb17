"""Platform analytics for admins: an activity log, nightly daily rollups, reports as JSON, CSV and XLSX."""
