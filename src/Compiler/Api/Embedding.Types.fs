// The embedding API's data types: diagnostics, shapes, parameters, tensors and training reports.
// Public surface for C# and F# alike: PascalCase, arrays and IReadOnlyList, null for "none" (no F# options or lists).
namespace Nn

open System
open System.Collections.Generic
open Nn.Dsl
open Nn.Runtime.Data

/// <summary>One error (or warning) about a program, its data or a run: a stable code, where it is, and the
/// rendered text with the source line and carets (the same text the <c>nn</c> command prints).</summary>
[<Sealed>]
type NnDiagnostic internal (d: Diagnostic, fileName: string, text: string) =
    /// <summary>The stable code, such as <c>NN0203</c> (listed in docs/language.md).</summary>
    member _.Code = d.Code
    /// <summary><c>error</c>, <c>warning</c> or <c>info</c>.</summary>
    member _.Severity =
        match d.Severity with
        | Severity.Error -> "error"
        | Severity.Warning -> "warning"
        | Severity.Info -> "info"
    /// <summary>The message without location or code.</summary>
    member _.Message = d.Message
    /// <summary>The file the diagnostic points into (the name given to <see cref="M:Nn.NnModel.Compile"/> for the
    /// program's own text), or an empty string when it has no file.</summary>
    member _.FileName = fileName
    /// <summary>The 1-based line of the start, or 0 when the diagnostic has no position.</summary>
    member _.Line = d.Span.Start.Line
    /// <summary>The 1-based column of the start, or 0 when the diagnostic has no position.</summary>
    member _.Column = d.Span.Start.Column
    /// <summary>The 1-based line of the end (exclusive column below).</summary>
    member _.EndLine = d.Span.End.Line
    /// <summary>The 1-based column just after the end.</summary>
    member _.EndColumn = d.Span.End.Column
    /// <summary>The full text: <c>file(line,col): error CODE: message</c>, the source line with carets, and
    /// notes.</summary>
    member _.Text = text
    /// <summary>The same as <see cref="P:Nn.NnDiagnostic.Text"/>.</summary>
    override _.ToString() = text

/// <summary>A user error found while compiling, training, predicting, saving or loading: a bad program, bad data,
/// arrays of the wrong shape, a missing weights file, or training that diverged.
/// <see cref="P:Nn.NnException.Diagnostics"/> has the details; the message is their rendered text.</summary>
type NnException internal (diagnostics: NnDiagnostic[]) =
    inherit Exception(diagnostics |> Array.map (fun d -> d.Text) |> String.concat Environment.NewLine)
    /// <summary>The code of the first diagnostic (such as <c>NN0550</c> for arrays that do not fit the
    /// network).</summary>
    member _.Code = if diagnostics.Length = 0 then "" else diagnostics[0].Code
    /// <summary>Every diagnostic, at least one.</summary>
    member _.Diagnostics: IReadOnlyList<NnDiagnostic> = Array.AsReadOnly diagnostics

/// <summary>The shape of a tensor as the program declares it. Axes with a dimension variable (the batch axis
/// <c>n</c>) have size -1 and a name; fixed axes have their size and a null name.</summary>
[<Sealed>]
type NnShape internal (sizes: int[], names: string[]) =
    /// <summary>The number of axes.</summary>
    member _.Rank = sizes.Length
    /// <summary>The size of each axis, -1 for a variable axis (a copy).</summary>
    member _.Sizes = Array.copy sizes
    /// <summary>The dimension variable of each axis (such as <c>n</c>), null for fixed axes (a copy).</summary>
    member _.Names = Array.copy names
    /// <summary>True when every axis has a fixed size.</summary>
    member _.IsFixed = sizes |> Array.forall (fun s -> s >= 0)
    /// <summary>The shape as the program writes it: <c>[n, 2]</c>.</summary>
    override _.ToString() =
        "["
        + (Array.map2 (fun (s: int) (n: string) -> if isNull n then string s else n) sizes names |> String.concat ", ")
        + "]"
    static member internal OfShape(s: Nn.Runtime.IR.Shape) =
        let dims = s.ToArray()
        NnShape(
            dims |> Array.map (fun d -> if d.IsFixed then d.Size else -1),
            dims |> Array.map (fun d -> if d.IsFixed then null else d.Symbol)
        )

/// <summary>A trainable parameter (or a non-trainable state such as batch-norm statistics) of a network.</summary>
[<Sealed>]
type NnParameter internal (path: string, shape: int[], initializer: string, isState: bool) =
    /// <summary>The stable path, such as <c>dense1.w</c>; it is the tensor's name in saved weights.</summary>
    member _.Path = path
    /// <summary>Its shape, which prints as the program writes it (<c>[2, 8]</c>); <c>Sizes</c> has the axes'
    /// sizes.</summary>
    member _.Shape = NnShape(Array.copy shape, Array.zeroCreate shape.Length)
    /// <summary>The number of values.</summary>
    member _.Count = shape |> Array.fold (fun acc d -> acc * int64 d) 1L
    /// <summary>The initializer, as the program writes it (such as <c>glorot</c>).</summary>
    member _.Initializer = initializer
    /// <summary>True for state learnt from data rather than by gradients (batch-norm running statistics,
    /// <c>standardize</c>'s mean and standard deviation).</summary>
    member _.IsState = isState
    /// <summary><c>path [shape]</c>.</summary>
    override _.ToString() = sprintf "%s %s" path (HostTensor.FormatShape(ReadOnlySpan shape))

/// <summary>A dense float32 tensor, row-major, whose first axis is the row (example) axis: what the trainer and
/// sessions take and return. Build one from .NET arrays with the <c>From...</c> methods.</summary>
[<Sealed>]
type NnTensor internal (host: HostTensor) =
    /// <summary>A tensor of the given shape over a copy of <paramref name="data"/> (row-major).</summary>
    /// <exception cref="T:System.ArgumentException">when the data length is not the product of the shape</exception>
    new(shape: int[], data: float32[]) =
        if isNull shape then nullArg "shape"
        if isNull data then nullArg "data"
        NnTensor(HostTensor(Array.copy shape, Array.copy data))
    member internal _.Host = host
    /// <summary>The sizes of the axes (a copy).</summary>
    member _.Shape = Array.copy host.Shape
    /// <summary>The number of rows (the size of the first axis).</summary>
    member _.Rows = host.Rows
    /// <summary>The number of values in one row.</summary>
    member _.RowSize = host.RowSize
    /// <summary>All values, row-major (a copy).</summary>
    member _.ToArray() = Array.copy host.Data
    /// <summary>The values of one row (a copy).</summary>
    member _.GetRow(row: int) : float32[] =
        if row < 0 || row >= host.Rows then
            raise (ArgumentOutOfRangeException("row", sprintf "row %d is outside 0..%d" row (host.Rows - 1)))
        host.Row(row).ToArray()
    /// <summary>The value at a row and a position within the row (row-major over the other axes).</summary>
    member this.Item
        with get (row: int, column: int) : float32 =
            if column < 0 || column >= host.RowSize then
                raise (
                    ArgumentOutOfRangeException(
                        "column", sprintf "column %d is outside 0..%d" column (host.RowSize - 1)
                    )
                )
            this.GetRow(row)[column]
    /// <summary>The values as a [rows, values per row] array.</summary>
    member _.ToArray2D() : float32[,] = Array2D.init host.Rows host.RowSize (fun r c -> host.Data[r * host.RowSize + c])
    /// <summary>The values as a [rows, values per row] array of doubles.</summary>
    member _.ToDoubleArray2D() : float[,] =
        Array2D.init host.Rows host.RowSize (fun r c -> float host.Data[r * host.RowSize + c])
    /// <summary>For each row, the position of its largest value (the predicted class of a classifier's
    /// scores).</summary>
    member _.ArgMax() : int[] =
        Array.init host.Rows (fun r ->
            let row = host.Row(r)
            let mutable best = 0
            for i in 1 .. row.Length - 1 do
                if row[i] > row[best] then best <- i
            best)
    /// <summary><c>NnTensor[rows, ...]</c>.</summary>
    override _.ToString() = sprintf "NnTensor%s" (HostTensor.FormatShape(ReadOnlySpan host.Shape))

    /// <summary>A [rows, columns] tensor from a rectangular array (rows first).</summary>
    static member FromArray(values: float32[,]) =
        if isNull values then nullArg "values"
        let rows, cols = Array2D.length1 values, Array2D.length2 values
        NnTensor(HostTensor([| rows; cols |], Array.init (rows * cols) (fun i -> values[i / cols, i % cols])))
    /// <summary>A [rows, columns] tensor from a rectangular array of doubles (rounded to float32).</summary>
    static member FromArray(values: float[,]) =
        if isNull values then nullArg "values"
        let rows, cols = Array2D.length1 values, Array2D.length2 values
        NnTensor(HostTensor([| rows; cols |], Array.init (rows * cols) (fun i -> float32 values[i / cols, i % cols])))
    /// <summary>A tensor of the given shape from row-major values (a copy).</summary>
    static member FromArray(values: float32[], [<ParamArray>] shape: int[]) = NnTensor(shape, values)
    /// <summary>A tensor of the given shape from row-major doubles (rounded to float32).</summary>
    static member FromArray(values: float[], [<ParamArray>] shape: int[]) =
        if isNull values then nullArg "values"
        NnTensor(shape, Array.map float32 values)
    /// <summary>Class labels (0, 1, 2, ...) as a [rows] tensor, the targets of a classifier.</summary>
    static member FromLabels(labels: int[]) =
        if isNull labels then nullArg "labels"
        NnTensor(HostTensor([| labels.Length |], Array.map float32 labels))

/// <summary>The results of one epoch, given to <see cref="E:Nn.NnTrainer.EpochCompleted"/> handlers and kept in
/// <see cref="P:Nn.TrainingResult.History"/>. Call <see cref="M:Nn.EpochEventArgs.Stop"/> to end training after
/// it.</summary>
[<Sealed>]
type EpochEventArgs internal (r: Nn.Runtime.Training.EpochReport, epochs: int) =
    inherit EventArgs()
    let mutable stop = false
    /// <summary>The epoch just completed, counting from 1.</summary>
    member _.Epoch = r.Epoch + 1
    /// <summary>The number of epochs the run was asked for.</summary>
    member _.Epochs = epochs
    /// <summary>The average training loss over the epoch's rows.</summary>
    member _.Loss = r.TrainLoss
    /// <summary>The training metrics by name (such as <c>accuracy</c>), empty without metrics.</summary>
    member _.Metrics: IReadOnlyDictionary<string, float> = r.Metrics
    /// <summary>The validation loss, or null without validation rows.</summary>
    member _.ValidationLoss: Nullable<float> = r.ValidationLoss
    /// <summary>The validation metrics by name, or null without validation rows.</summary>
    member _.ValidationMetrics: IReadOnlyDictionary<string, float> = r.ValidationMetrics
    /// <summary>The learning rate of the epoch's last step.</summary>
    member _.LearningRate = r.LearningRate
    /// <summary>Training speed in rows per second.</summary>
    member _.SamplesPerSecond = r.SamplesPerSec
    /// <summary>Asks the trainer to stop after this epoch (the weights stay as they are now).</summary>
    member _.Stop() = stop <- true
    /// <summary>True once <see cref="M:Nn.EpochEventArgs.Stop"/> was called.</summary>
    member _.StopRequested = stop

/// <summary>The outcome of <see cref="M:Nn.NnTrainer.Fit(Nn.NnTensor,Nn.NnTensor)"/>.</summary>
[<Sealed>]
type TrainingResult internal (history: EpochEventArgs[], stoppedEarly: bool, steps: int64,
                              restoredEpoch: Nullable<int>) =
    /// <summary>One entry per epoch run, in order.</summary>
    member _.History: IReadOnlyList<EpochEventArgs> = Array.AsReadOnly history
    /// <summary>The training loss of the last epoch (NaN when no epoch ran).</summary>
    member _.FinalLoss = if history.Length = 0 then nan else history[history.Length - 1].Loss
    /// <summary>True when early stopping (the program's <c>stop</c> field) or a handler ended training before the
    /// last epoch.</summary>
    member _.StoppedEarly = stoppedEarly
    /// <summary>The number of optimizer steps taken.</summary>
    member _.Steps = steps
    /// <summary>The epoch (from 1) whose weights early stopping restored at the end, which are now the trainer's
    /// weights (what <c>Predict</c> and <c>Save</c> use); null when they are the last epoch's.</summary>
    member _.RestoredEpoch = restoredEpoch

/// <summary>The processes of a data-parallel training job (docs/distributed.md): give it to
/// <see cref="P:Nn.TrainerOptions.Communicator"/> and every process's <c>Fit</c> trains the same model on its share of
/// every batch, the gradients summed over the processes. Start the host program with <c>mpirun -np N</c> and join
/// the job with <see cref="M:Nn.NnCommunicator.JoinMpi"/> in every process; every process calls <c>Fit</c> with the
/// same arrays and options. Dispose it at the end (MPI_Finalize).</summary>
[<Sealed; AllowNullLiteral>]
type NnCommunicator internal (inner: Nn.Runtime.Distributed.ICommunicator) =
    /// <summary>True when this process was started by Open MPI's <c>mpirun</c>.</summary>
    static member InMpiJob = Nn.Runtime.Distributed.MpiCommunicator.InJob
    /// <summary>Joins the Open MPI job this process was started in (initialises MPI once per process; a process not
    /// started by <c>mpirun</c> is a job of one).</summary>
    /// <exception cref="T:Nn.NnException">NN0803 when Open MPI's libmpi cannot be loaded or initialised</exception>
    static member JoinMpi() : NnCommunicator =
        try new NnCommunicator(Nn.Runtime.Distributed.MpiCommunicator.Join())
        with
        | :? DllNotFoundException
        | :? InvalidOperationException as e ->
            let d = Diagnostic.error "NN0803" (Span.make "nn" (0, 0) (0, 0)) ("cannot join the MPI job: " + e.Message)
            raise (NnException [| NnDiagnostic(d, "nn", "nn: error NN0803: cannot join the MPI job: " + e.Message) |])
    /// <summary>This process's number in the job, 0 .. Size-1 (rank 0 is the one to print and save).</summary>
    member _.Rank = inner.Rank
    /// <summary>The number of processes in the job.</summary>
    member _.Size = inner.Size
    member internal _.Inner = inner
    /// <summary>Leaves the job (MPI_Finalize); no MPI call may follow in this process.</summary>
    member _.Dispose() = inner.Dispose()
    interface IDisposable with
        member this.Dispose() = this.Dispose()

/// <summary>Settings that override the program's <c>train</c> block. Properties left null keep the block's
/// value.</summary>
[<Sealed; AllowNullLiteral>]
type TrainerOptions() =
    /// <summary>The network whose <c>train</c> block to use; null: the first <c>train</c> block's network.</summary>
    member val Network: string = null with get, set
    /// <summary>Overrides <c>epochs</c>.</summary>
    member val Epochs = Nullable<int>() with get, set
    /// <summary>Overrides <c>batch</c> (rows per mini-batch).</summary>
    member val BatchSize = Nullable<int>() with get, set
    /// <summary>Overrides <c>seed</c> (initial weights, shuffling, dropout).</summary>
    member val Seed = Nullable<int>() with get, set
    /// <summary>Overrides <c>validation</c> (the fraction of rows, taken from the end, held out).</summary>
    member val Validation = Nullable<float>() with get, set
    /// <summary>Any other field, as program text: <c>options.Settings["optimizer"] = "adam { lr = 0.01 }"</c>
    /// (the <c>nn train --set</c> of the command line).</summary>
    member val Settings: IDictionary<string, string> = Dictionary<string, string>() with get
    /// <summary>The job to train in across processes (data parallelism, <see cref="T:Nn.NnCommunicator"/>); null:
    /// this process alone.</summary>
    member val Communicator: NnCommunicator = null with get, set
