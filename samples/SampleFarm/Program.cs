// Placeholder: replaced by the one-command farm.
return 0;
