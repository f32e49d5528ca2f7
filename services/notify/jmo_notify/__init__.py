"""notify: tells members, on the channels they chose, what happened to their claim, payout, account and complaints."""
