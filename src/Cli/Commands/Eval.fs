/// `nn eval FILE --weights W`: the loss and metrics of trained weights on the validation rows (or all rows).
module internal Nn.Cli.Commands.Eval

open System
open Nn.Runtime.Training
open Nn.Compiler
open Nn.Cli
open Nn.Cli.Common

let help =
    """Usage: nn eval FILE --weights W [--data PATH]... [--train NAME] [--set NAME=VALUE]... [--threads N]
               [--engine fused|reference]

Evaluates the weights W (a .safetensors file, or a run folder: the weights its training ended with, that is
best.safetensors when early stopping restored an earlier epoch, else checkpoint.safetensors) with the train block
of FILE: its loss and metrics on the validation rows, or on all the data when the block holds none back, or on all
rows of the --data files. The settings of a run folder's training (its --set values, such as metrics) apply first.
  --weights W           the weights to evaluate (required)
  --data PATH           evaluate on other files of the form of the block's `data`, read as it reads its own: one CSV
                        file (the same columns), IDX images then labels (--data images --data labels), NPY features
                        then targets (--data x.npy --data y.npy); class labels are numbered as in the training data
  --train NAME          the train block of network NAME (default: the first)
  --set NAME=VALUE      override a field of the train block, e.g. --set "data=csv \"other.csv\" { label = \"y\" }",
                        or a top-level `let` of FILE (the run's own --set values are applied first)
  --threads N           use at most N threads
  --engine E            the engine (default: fused); reference runs the float64 reference interpreter (slower)

Exit codes: 0 evaluated, 1 an error in the program, the data, the weights or the command line, 2 internal.

Examples:
  nn eval examples/iris.nn --weights examples/runs/iris/latest
  nn eval examples/xor.nn --weights xor-run/checkpoint.safetensors
  nn eval examples/iris.nn --weights examples/runs/iris/latest --data test.csv"""

let private spec =
    [ "--weights", Value; "--data", Many; "--train", Value; "--set", Many; "--threads", Value; "--engine", Value ]

/// Loss and metrics over all rows of `data`, in batches: the loss weighted by rows, the metrics from their
/// statistics over every row (EpochTotals), as the trainer computes a validation row.
let evaluate (exec: IStepExecutor) (graphs: StepGraphs) (data: Nn.Runtime.Data.Dataset) (batch: int) =
    let totals = EpochTotals(graphs.Spec.Metrics)
    let mutable start = 0
    while start < data.Count do
        let size = min batch (data.Count - start)
        let part = data.Rows(start, size)
        totals.Add(exec.Evaluate(part.Inputs, part.Targets), size)
        start <- start + size
    let metrics = totals.Metrics
    totals.Loss, [ for i in 0 .. metrics.Length - 1 -> graphs.Metrics[i], metrics[i] ]

/// What `nn eval` measures: the network, the weights file read (a run folder stands for the weights its training
/// ended with: best.safetensors when early stopping restored an epoch, else its checkpoint), the rows and their loss
/// and metrics, computed as the trainer computes a validation row of metrics.csv.
let measure (a: Args) =
    let file = fileArg "eval" a
    let weights =
        match a.Get "--weights" with
        | Some w -> w
        | None -> fail "`nn eval` needs --weights W (a checkpoint or a run folder)"
    applyThreads a
    // the network and the block as trained: the run's `--set`s of top-level lets and of fields, then the command line's
    let runSets, fieldSets = runSetsOf weights
    let sets = fieldSets @ runSets @ a.All "--set"
    let c = compileForRun file runSets (a.All "--set")
    let td, env = trainBlock c (a.Get "--train")
    // a CSV table's text columns are encoded with the vocabulary kept with the weights, as training encoded them
    let block = TrainPlan.withOverrides td (overrides sets), env
    let plan = TrainPlan.createFrom TrainPlan.FromInitializers (Checkpoint.table weights) None c block None
    let g = plan.Graphs
    let values = Checkpoint.readWeights weights (Seq.append g.Eval.Params g.Eval.States)
    let exec = executor (engineOf a) g plan.Initial
    exec.Load values
    let data, what =
        match a.All "--data", plan.Validation with
        | [], Some v -> v, sprintf "the validation rows (%d)" v.Count
        | [], None ->
            plan.Train, sprintf "all %d rows (the train block holds none back for validation)" plan.Train.Count
        | paths, _ ->
            let d = TrainPlan.evalData plan paths
            d, sprintf "all %d rows of %s" d.Count (paths |> List.map IO.Path.GetFileName |> String.concat " and ")
    let loss, metrics = evaluate exec g data plan.Config.Batch
    plan.Config.Network, Checkpoint.resolveWeights weights, what, loss, metrics

/// `nn eval` with the words after the verb (as a test calls it).
let measureArgs (args: string list) = measure (parseArgs "eval" spec args)

let run (a: Args) =
    let network, weights, what, loss, metrics = measure a
    printfn "evaluated `%s` with %s on %s" network weights what
    printfn "loss %s%s" (Progress.number loss)
        (metrics |> List.map (fun (n, v) -> sprintf "  %s %s" n (Progress.number v)) |> String.concat "")
    0

let command: Command =
    { Name = "eval"
      Summary = "loss and metrics of trained weights on the validation data"
      Help = help
      Run = fun args -> guarded (fun () -> run (parseArgs "eval" spec args)) }
