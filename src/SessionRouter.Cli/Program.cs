// Placeholder: replaced by the partition map tool.
return 0;
