namespace Nn.Runtime.Training;

/// <summary>
/// The <c>stop = earlyStopping { monitor; patience }</c> field. <see cref="Monitor"/> is <c>validationLoss</c>
/// (the default), <c>validationAccuracy</c>, <c>loss</c> or <c>accuracy</c> (training values); losses must go
/// down, accuracies up, by more than <see cref="MinDelta"/> to count as an improvement. Training stops after
/// <see cref="Patience"/> epochs in a row without improvement (Keras' rule); with <see cref="RestoreBest"/> the
/// weights (and state) of the best epoch are put back at the end.
/// </summary>
internal sealed record EarlyStoppingSpec
{
    /// <summary>What to watch.</summary>
    public Monitor Monitor { get; init; } = Monitor.ValidationLoss;
    /// <summary>Epochs without improvement before stopping.</summary>
    public int Patience { get; init; } = 5;
    /// <summary>Put the best epoch's weights back when training ends.</summary>
    public bool RestoreBest { get; init; } = true;
    /// <summary>The smallest change that counts as an improvement.</summary>
    public double MinDelta { get; init; }

    /// <summary>True when larger values are better (accuracies).</summary>
    public bool Maximize => Monitor.Maximize;
}

/// <summary>The running state of early stopping: the best value, its epoch and the epochs waited since.</summary>
internal sealed class EarlyStopping
{
    /// <summary>Starts watching.</summary>
    /// <exception cref="ArgumentException">for a missing monitor or a negative patience</exception>
    public EarlyStopping(EarlyStoppingSpec spec)
    {
        if (spec.Monitor is null) throw new ArgumentException("no `monitor`");
        if (spec.Patience < 0) throw new ArgumentException($"`patience` must not be negative, got {spec.Patience}");
        Spec = spec;
    }

    /// <summary>The settings.</summary>
    public EarlyStoppingSpec Spec { get; }
    /// <summary>The best value seen (NaN before the first epoch).</summary>
    public double Best { get; private set; } = double.NaN;
    /// <summary>The epoch of <see cref="Best"/> (-1 before the first epoch).</summary>
    public int BestEpoch { get; private set; } = -1;
    /// <summary>Epochs since the last improvement.</summary>
    public int Wait { get; private set; }
    /// <summary>True once training should stop.</summary>
    public bool ShouldStop { get; private set; }

    /// <summary>Records the monitored value of an epoch; returns true when it is a new best (the caller snapshots the
    /// weights then). A non-finite value never improves.</summary>
    public bool Observe(int epoch, double value)
    {
        bool better = Spec.Monitor.Improves(value, BestEpoch < 0 ? double.NaN : Best, Spec.MinDelta);
        if (better) { Best = value; BestEpoch = epoch; Wait = 0; return true; }
        if (++Wait >= Spec.Patience) ShouldStop = true;
        return false;
    }

    /// <summary>The state (best, best epoch, wait), for checkpoints.</summary>
    public double[] State => [Best, BestEpoch, Wait];

    /// <summary>Restores <see cref="State"/>.</summary>
    public void Restore(double[] state)
    {
        Best = state[0]; BestEpoch = (int)state[1]; Wait = (int)state[2]; ShouldStop = false;
    }
}
