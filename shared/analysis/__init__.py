"""Analysis over finished runs: statistics and paired comparisons (above ``runs``)."""
