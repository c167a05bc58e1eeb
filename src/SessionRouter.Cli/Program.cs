// The sessionrouter tool: where / diff / check on a yarp.json partition map (docs/partitioning.md).
return SessionRouter.Cli.CliApp.Run(args, Console.Out, Console.Error);
