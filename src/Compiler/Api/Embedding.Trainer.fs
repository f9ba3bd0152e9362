// The embedding API's trainer: a session that also fits its weights to in-memory arrays with a `train` block's
// settings.
namespace Nn

open System
open System.Collections.Generic
open Nn.Dsl
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Ops
open Nn.Runtime.Training
open Nn.Runtime.Distributed
open Nn.Compiler

/// Raised inside the epoch callback when a handler asked to stop; caught by Fit.
exception private StopRequested

/// <summary>Trains a network on arrays with the settings of the program's <c>train</c> block (as overridden by
/// <see cref="T:Nn.TrainerOptions"/>); made by <see cref="M:Nn.NnModel.CreateTrainer(Nn.TrainerOptions)"/>. Its
/// weights start from the block's initializers and seed; it can predict, save and load as any session.
/// Not thread-safe.</summary>
[<Sealed; AllowNullLiteral>]
type NnTrainer internal (program: Embed.Program, net: Compile.NetworkInfo, block: TrainDecl * Env,
                         cfg: TrainConfig.TrainConfig, graphs: StepGraphs, comm: NnCommunicator) =
    inherit NnSession(program, net, graphs, Initializers.ForGraph(graphs.Train, uint64 cfg.Seed))
    let epochCompleted = Event<EventHandler<EpochEventArgs>, EpochEventArgs>()
    let mutable trained = false

    /// The targets as the loss wants them: labels stay [rows] for cross-entropy, become [rows, 1] for one output.
    let shapeTargets (outShape: Shape) (x: HostTensor) (y: HostTensor) =
        let err m = raise (Embed.error program "NN0551" m)
        if y.Rows <> x.Rows then
            raise (
                Embed.error program "NN0550" (sprintf "the features have %d rows but the targets have %d" x.Rows y.Rows)
            )
        let out = outShape.ToArray()
        let crossEntropy = cfg.Loss.Target = LossTarget.Classes
        if y.Rank = 1 then
            // the labels themselves are checked against the loss with the CLI's data (Targets.check)
            if crossEntropy then y
            elif out.Length = 2 && out[1].IsFixed && out[1].Size = 1 then HostTensor([| y.Rows; 1 |], y.Data)
            elif cfg.Loss.Target = LossTarget.AsGiven then y // a loss written in the language gets them as given
            else
                err (
                    sprintf "the targets are one value per row, but the network's output is %O and the loss is `%s` "
                        outShape cfg.Loss.Name
                    + "(use softmaxCrossEntropy for class labels)"
                )
        else
            let fits =
                y.Rank = out.Length && Seq.forall2 (fun (d: Dim) s -> not d.IsFixed || d.Size = s) out[1..] y.Shape[1..]
            if not fits then
                err (
                    sprintf "the targets have rows of %s, but the network `%s` outputs rows of %O"
                        (Embed.shapeText y.Shape[1..]) net.Decl.Name (Shape(out[1..]))
                )
            y

    /// <summary>Raised after every epoch with its loss and metrics; call <see cref="M:Nn.EpochEventArgs.Stop"/> to end
    /// training.</summary>
    [<CLIEvent>]
    member _.EpochCompleted = epochCompleted.Publish
    /// <summary>The number of epochs <see cref="M:Nn.NnTrainer.Fit(Nn.NnTensor,Nn.NnTensor)"/> runs.</summary>
    member _.Epochs = cfg.Epochs
    /// <summary>Rows per mini-batch.</summary>
    member _.BatchSize = cfg.Batch
    /// <summary>The seed of initial weights, shuffling and dropout.</summary>
    member _.Seed = cfg.Seed
    /// <summary>The loss, such as <c>binaryCrossEntropy</c>.</summary>
    member _.Loss = cfg.Loss.Name
    /// <summary>The optimizer, such as <c>sgd</c> or <c>adam</c>.</summary>
    member _.Optimizer = cfg.Optimizer.Kind.Name

    /// <summary>Trains on the rows of <paramref name="features"/> and <paramref name="targets"/> (class labels from
    /// <see cref="M:Nn.NnTensor.FromLabels(System.Int32[])"/>, or values shaped like the network's output). The
    /// block's <c>validation</c> fraction is held out from the end. Calling Fit again continues from the current
    /// weights and optimizer state.</summary>
    /// <exception cref="T:Nn.NnException">NN0550 rows that do not fit the network, NN0551 targets that do not fit its
    /// output or loss, NN0540 a class label outside the network's classes, NN0545 a target outside [0, 1] for
    /// <c>binaryCrossEntropy</c> (both before the first step, naming the row), NN0612 training diverged (NaN), NN0620
    /// the loss exploded</exception>
    member this.Fit(features: NnTensor, targets: NnTensor) : TrainingResult =
        if isNull (box features) then nullArg "features"
        this.Fit([| features |], targets)
    /// <summary>Trains a network with several inputs: one array of rows per input, in the order the network
    /// declares them, and the targets (as <see cref="M:Nn.NnTrainer.Fit(Nn.NnTensor,Nn.NnTensor)"/>).</summary>
    /// <exception cref="T:Nn.NnException">NN0571 when the number of arrays differs from the network's inputs,
    /// NN0572 (NN0550 for one input) when an array's rows do not fit its input, NN0570 when the arrays' rows
    /// differ; and those of <see cref="M:Nn.NnTrainer.Fit(Nn.NnTensor,Nn.NnTensor)"/></exception>
    member this.Fit(features: NnTensor[], targets: NnTensor) : TrainingResult =
        if isNull features || Array.exists (box >> isNull) features then nullArg "features"
        if isNull (box targets) then nullArg "targets"
        let xs = features |> Array.map (fun f -> f.Host)
        Embed.checkInputs program net.Decl.Name this.Graphs.DataInputs xs
        let y = shapeTargets this.Graphs.Predict.Outputs[0].Value.Shape xs[0] targets.Host
        Embed.guard program (fun () ->
            let plan = TrainPlan.createWith (Option.get program.Compiled) block (Some(Dataset(xs, y)))
            // across processes: this process's share of every batch, gradients summed over the job (data parallelism)
            let exec =
                match comm with
                | null -> Embed.executor plan.Graphs plan.Initial
                | c when c.Size = 1 -> Embed.executor plan.Graphs plan.Initial
                | c ->
                    DataParallelExecutor(plan.Graphs, c.Inner, (fun g v -> Embed.executor g v), plan.Initial)
                    :> IStepExecutor
            if trained then
                // continue from the current weights (and optimizer moments) rather than the initial values
                let names = Seq.append plan.Graphs.Params plan.Graphs.States |> Seq.map (fun n -> n.Name) |> HashSet
                let current = this.Executor.Snapshot()
                exec.Load(
                    current
                    |> Seq.filter (fun kv -> names.Contains kv.Key)
                    |> Seq.map (fun kv -> kv.Key, kv.Value)
                    |> dict
                    |> Dictionary
                )
            this.Replace(plan.Graphs, exec)
            trained <- true
            let history = ResizeArray<EpochEventArgs>()
            let onEpoch (r: EpochReport) =
                let e = EpochEventArgs(r, plan.Config.Epochs)
                history.Add e
                epochCompleted.Trigger(this, e)
                if e.StopRequested then raise StopRequested
            let options = TrainPlan.options plan.Config (Action<EpochReport> onEpoch) null
            let batches = int64 ((plan.Train.Count + plan.Config.Batch - 1) / max 1 plan.Config.Batch)
            try
                let r = Trainer.Fit(plan.Graphs, exec, plan.Train, Option.toObj plan.Validation, options)
                let restored = if r.RestoredEpoch.HasValue then Nullable(r.RestoredEpoch.Value + 1) else Nullable()
                TrainingResult(history.ToArray(), r.StoppedEarly, r.Steps, restored)
            with StopRequested ->
                TrainingResult(
                    history.ToArray(), history.Count < plan.Config.Epochs, int64 history.Count * batches, Nullable()
                ))
    /// <summary>Trains on a [rows, columns] array of features and one of targets.</summary>
    member this.Fit(features: float32[,], targets: float32[,]) =
        this.Fit(NnTensor.FromArray features, NnTensor.FromArray targets)
    /// <summary>Trains on a [rows, columns] array of features and a class label per row.</summary>
    member this.Fit(features: float32[,], labels: int[]) =
        this.Fit(NnTensor.FromArray features, NnTensor.FromLabels labels)
    /// <summary>Trains on [rows, columns] arrays of doubles (features and targets).</summary>
    member this.Fit(features: float[,], targets: float[,]) =
        this.Fit(NnTensor.FromArray features, NnTensor.FromArray targets)
    /// <summary>Trains on a [rows, columns] array of doubles and a class label per row.</summary>
    member this.Fit(features: float[,], labels: int[]) =
        this.Fit(NnTensor.FromArray features, NnTensor.FromLabels labels)
    /// <summary>Trains a network with several inputs on one [rows, columns] array per input and the targets.</summary>
    member this.Fit(features: float32[,][], targets: float32[,]) =
        if isNull features then nullArg "features"
        this.Fit(features |> Array.map NnTensor.FromArray, NnTensor.FromArray targets)
    /// <summary>Trains a network with several inputs on one [rows, columns] array per input and a class label per
    /// row.</summary>
    member this.Fit(features: float32[,][], labels: int[]) =
        if isNull features then nullArg "features"
        this.Fit(features |> Array.map NnTensor.FromArray, NnTensor.FromLabels labels)
    /// <summary>Trains a network with several inputs on one [rows, columns] array of doubles per input and the
    /// targets.</summary>
    member this.Fit(features: float[,][], targets: float[,]) =
        if isNull features then nullArg "features"
        this.Fit(features |> Array.map NnTensor.FromArray, NnTensor.FromArray targets)
    /// <summary>Trains a network with several inputs on one [rows, columns] array of doubles per input and a class
    /// label per row.</summary>
    member this.Fit(features: float[,][], labels: int[]) =
        if isNull features then nullArg "features"
        this.Fit(features |> Array.map NnTensor.FromArray, NnTensor.FromLabels labels)
