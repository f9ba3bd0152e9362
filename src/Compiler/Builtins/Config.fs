/// Built-ins of the `train` block: data sources, optimizers, schedules, regularizers, clipping, stopping.
/// They record their arguments as a VConfig; Model/TrainConfig.fs reads them into typed settings.
/// A built-in applied to fewer arguments than its arity (`idx "images.gz"`, `adam`) is read with defaults.
module internal Nn.Compiler.Builtins.Config

open Nn.Compiler
open Nn.Compiler.Builtins.Define

let private config name arity doc =
    fn name arity doc (fun _ _ args -> VConfig(name, args))

/// Names with a meaning only as settings.
let symbols =
    [ "mse"; "mae"; "binaryCrossEntropy"; "softmaxCrossEntropy"; "crossEntropy"
      "accuracy"; "loss"; "validationLoss"; "validationAccuracy"; "same"; "valid" ]

/// All train-block built-ins with their arity.
let all: Builtin list =
    [ config "rows" 1 "a list of (features, target) pairs"
      config "idx" 2 "an images file and a labels file"
      config "csv" 2 "a file and settings { features; label }"
      config "npy" 2 "a features file and a targets file"
      config "generate" 3 "a count, a function and settings { low; high; noise }"
      config "sgd" 1 "settings { lr; momentum; nesterov }"
      config "adam" 1 "settings { lr; beta1; beta2; eps }"
      config "adamW" 1 "settings { lr; beta1; beta2; eps; weightDecay }"
      config "rmsprop" 1 "settings { lr; rho; eps; momentum }"
      config "adagrad" 1 "settings { lr; eps }"
      config "stepDecay" 1 "settings { every; factor }"
      config "exponential" 1 "settings { rate }"
      config "cosine" 1 "settings { warmup; min }"
      config "warmup" 1 "settings { epochs }"
      config "reduceOnPlateau" 1 "settings { factor; patience; monitor }"
      config "l1" 1 "a coefficient"
      config "l2" 1 "a coefficient"
      config "norm" 1 "a maximum global norm"
      config "value" 1 "a maximum absolute value"
      config "earlyStopping" 1 "settings { monitor; patience }"
      config "huber" 1 "a threshold delta" ]
