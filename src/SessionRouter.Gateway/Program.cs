// Placeholder: replaced by the gateway host.
return 0;
