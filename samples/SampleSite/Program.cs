// The sample shop. Run behind the gateway (see samples/SampleFarm), or alone:
//   dotnet run --project samples/SampleSite -- --urls http://127.0.0.1:5101
// It reads the shared SignatureKey from the repository's yarp.json (or --config path).
var app = SampleSite.Hosting.SampleSiteApp.Build(args);
await app.RunAsync();
