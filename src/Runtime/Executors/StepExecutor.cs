using Nn.Runtime.Data;
using Nn.Runtime.Engine;
using Nn.Runtime.Execution;
using Nn.Runtime.Training;

namespace Nn.Runtime.Executors;

/// <summary>Creates step executors by engine name: the fused engine (<see cref="FusedExecutor"/>, which names a
/// non-finite node by replaying the step on the reference interpreter) or the reference interpreter itself
/// (<see cref="ReferenceExecutor"/>). The one place that knows both, so neither depends on the other.</summary>
internal static class StepExecutor
{
    /// <summary>The engine names <see cref="Create"/> accepts.</summary>
    public static readonly IReadOnlyList<string> Engines = ["fused", "reference"];

    /// <summary>An executor for <paramref name="graphs"/> starting from <paramref name="initial"/> Param and State
    /// values.</summary>
    /// <exception cref="ArgumentException">for an unknown engine, a bad thread count, or missing initial
    /// values</exception>
    public static IStepExecutor Create(StepGraphs graphs, IReadOnlyDictionary<string, HostTensor> initial,
        ExecutorOptions? options = null)
    {
        options ??= new ExecutorOptions();
        return options.Engine switch
        {
            "fused" => new FusedExecutor(graphs, initial, options, ReferenceExecutor.FirstNonFinite),
            "reference" => new ReferenceExecutor(graphs, initial, options.CheckFinite),
            _ => throw new ArgumentException(
                $"unknown engine `{options.Engine}` (known: {string.Join(", ", Engines)})"),
        };
    }
}
