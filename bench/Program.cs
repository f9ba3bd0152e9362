using Nn.Bench;

// dotnet run -c Release --project bench --
//   [peak|gemm|zeros|elementwise|conv|training|lenet|lstm|csv|threads|roundtrip|all]
//   [gemm sizes...] [--profile] [--plan] [--rounds=N]
string what = args.Length > 0 ? args[0] : "all";
var flags = args.Skip(1).Where(a => a.StartsWith("--")).ToArray();
int[] sizes = args.Skip(1).Where(a => !a.StartsWith("--")).Select(int.Parse).ToArray() is { Length: > 0 } given
    ? given
    : [256, 512, 1024, 2048];
Console.WriteLine($"nn kernels bench: {Environment.ProcessorCount} cores, .NET {Environment.Version}, " +
    $"Vector512 {(System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? "on" : "off")}");
if (what is "csv") { CsvBench.Run(); return; }
if (what is "lstm") { LstmBench.Run(flags); return; }
if (what is "threads") { ThreadsBench.Run(flags); return; }
if (what is "roundtrip") { Console.WriteLine($"round trip {RoundTrip.Nanoseconds():F0} ns"); return; }
var peak = Peak.Measure();
if (what is "gemm" or "all") GemmBench.Run(peak, sizes, flags);
if (what is "zeros") ZeroColumnsBench.Run(peak, flags);
if (what is "elementwise" or "all") ElementwiseBench.Run(peak);
if (what is "conv" or "all") ConvBench.Run(peak);
if (what is "training" or "all") TrainingStepBench.Run(peak, flags);
if (what is "lenet" or "all") LenetBench.Run(peak, flags);
