// Placeholder: replaced by the sample site.
return 0;
