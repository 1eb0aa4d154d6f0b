using KmPs.Simulator;

return await SimulatorCli.RunAsync(args);
