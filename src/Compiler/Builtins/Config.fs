/// Built-ins of the `train` block: data sources, optimizers, schedules, regularizers, clipping, stopping.
/// They record their arguments as a VConfig; Model/TrainConfig.fs reads them into typed settings.
/// A built-in applied to fewer arguments than its arity (`idx "images.gz"`, `adam`) is read with defaults.
module internal Nn.Compiler.Builtins.Config

open Nn.Compiler
open Nn.Compiler.Builtins.Define
open Nn.Runtime.Ops
open Nn.Runtime.Training

let private config name arity doc =
    fn name arity doc (fun _ _ args -> VConfig(name, args))

let private settings (fields: string seq) = sprintf "settings { %s }" (String.concat "; " fields)

/// All train-block built-ins with their arity.
let all: Builtin list =
    [ yield config "rows" 1 "a list of (features, target) pairs"
      yield config "idx" 2 "an images file and a labels file"
      yield config "csv" 2 "a file and settings { features; label }"
      yield config "npy" 2 "a features file and a targets file"
      yield config "generate" 3 "a count, a function and settings { low; high; noise }"
      // optimizers and schedules: names and settings from the runtime's types
      for o in OptimizerKind.Builtins do
          yield config o.Name 1 (settings o.HyperParameters)
      for k in ScheduleKind.Builtins do
          if k <> ScheduleKind.Constant then yield config k.Name 1 (settings k.Settings)
      yield config "l1" 1 "a coefficient"
      yield config "l2" 1 "a coefficient"
      yield config "norm" 1 "a maximum global norm"
      yield config "value" 1 "a maximum absolute value"
      yield config "earlyStopping" 1 "settings { monitor; patience }"
      yield config "huber" 1 "a threshold delta"
      yield config "topK" 1 "a whole number k ≥ 1"
      yield config "validation" 1 "a metric or `loss`, to watch on the validation rows"
      yield config "weights" 2 "a run folder or a .safetensors file, and settings { rename }" ]

/// Names with a meaning only as settings: the losses, metrics and monitors the runtime defines (a loss that takes
/// settings, huber, is a built-in above), and the paddings of convolutions.
let symbols =
    let configs = all |> List.map (fun b -> b.Name) |> set
    [ yield!
          Seq.concat [ LossKind.Names; Metric.Names; Monitor.Names ]
          |> Seq.filter (configs.Contains >> not)
          |> Seq.distinct
      "same"
      "valid" ]

/// The train-block names added after programs could already use them (issue #19's metrics, `validation`, `topK`
/// and `weights`):
/// a program's own `let` of one of these names keeps its meaning in `train` blocks (`let f1 p t = ...` is then a
/// function metric), so adding them changed no existing program.
let yieldToProgram = set [ "topK"; "validation"; "precision"; "recall"; "f1"; "rmse"; "r2"; "weights" ]

