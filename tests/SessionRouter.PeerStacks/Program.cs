// Placeholder: replaced by the peer stacks host of the load script.
return 0;
