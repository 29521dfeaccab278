"""What to measure: the settings table, variants, sweep files, planning and devices."""
