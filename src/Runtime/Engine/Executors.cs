using Nn.Runtime.Data;
using Nn.Runtime.Training;

namespace Nn.Runtime.Engine;

/// <summary>How the CLI and the embedding API want a network run.</summary>
public sealed record ExecutorOptions
{
    /// <summary><c>fused</c> (planned kernels, the default) or <c>reference</c> (the interpreter, the oracle).</summary>
    public string Engine { get; init; } = "fused";
    /// <summary>Threads for matrix products and large elementwise loops (1 or 2 on this machine; more are capped by the worker pool).</summary>
    public int Threads { get; init; } = 1;
    /// <summary>Check each training step for NaN and infinity (loss and updated values) and name the first bad node.</summary>
    public bool CheckFinite { get; init; } = true;
}

/// <summary>Creates step executors by engine name.</summary>
public static class Executors
{
    /// <summary>The engine names <see cref="Create"/> accepts.</summary>
    public static readonly IReadOnlyList<string> Engines = ["fused", "reference"];

    /// <summary>An executor for <paramref name="graphs"/> starting from <paramref name="initial"/> Param and State values.</summary>
    /// <exception cref="ArgumentException">for an unknown engine, a bad thread count, or missing initial values</exception>
    public static IStepExecutor Create(StepGraphs graphs, IReadOnlyDictionary<string, HostTensor> initial, ExecutorOptions? options = null)
    {
        options ??= new ExecutorOptions();
        return options.Engine switch
        {
            "fused" => new FusedExecutor(graphs, initial, options),
            "reference" => new ReferenceExecutor(graphs, initial, options.CheckFinite),
            _ => throw new ArgumentException($"unknown engine `{options.Engine}` (known: {string.Join(", ", Engines)})"),
        };
    }
}
