// Placeholder: replaced by the engine host.
return 0;
