namespace Nn.Bench;

/// <summary>
/// The place for end-to-end training-step benchmarks (forward + backward + update of a planned graph,
/// e.g. an MLP on MNIST-size batches and LeNet), to be added once the runtime executes planned steps.
/// Each should report steps/s and its GFLOP/s as a fraction of <see cref="Peak.Result.Gflops2"/>.
/// </summary>
internal static class TrainingStepBench
{
    public static void Run(Peak.Result peak)
    {
        var table = new Table("training step");
        // Add cases here: table.Add("mlp 784-256-10, batch 64", stepsPerSecond, "steps/s", gflops / peak.Gflops2);
        table.Print();
        Console.WriteLine("(no training-step benchmarks yet: the executor is not built)");
    }
}
