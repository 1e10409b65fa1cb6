"""Run records: result.json, the checkpoint format and its reader, printed reports, log files."""
