/// The typed settings of a `train` block, read from the evaluated record with every field's default.
module internal Nn.Compiler.TrainConfig

open Nn.Dsl
open Nn.Compiler.Context
open Nn.Compiler.Tensors
open Nn.Runtime.Ops
open Nn.Runtime.Training

/// A column of a CSV file, by header name or 0-based index.
type Column =
    | ByName of string
    | ByIndex of int

/// The text columns and empty cells of a CSV table (`categorical`, `indexed`, `missing`).
type Table =
    { Categorical: Column list
      Indexed: Column list
      /// None: an empty feature cell is an error (NN0576)
      Missing: Nn.Runtime.Data.MissingSpec option }

    static member Plain = { Categorical = []; Indexed = []; Missing = None }

/// Where the training data comes from.
type DataSource =
    /// rows [ [0; 0], [0] ... ]: literal (features, target) pairs, with where each target is written
    | Rows of features: float[][] * targets: float[][] * targetSpans: Span[]
    /// idx "images" "labels" (labels optional, for unsupervised training)
    | Idx of images: string * labels: string option
    /// csv "file" { features = [..]; label = ..; categorical = [..]; indexed = [..]; missing = .. }: one list of
    /// columns per input of the network (`features = [["x1"; "x2"]; ["c1"]]` for two inputs; `[]`: every column but
    /// the label), each with the span it is written at, and how text and empty cells become numbers
    | Csv of path: string * features: (Column list * Span) list * label: Column option * table: Table
    /// npy "features" "targets", or npy ["a.npy"; "b.npy"] "targets": one file per input, each with its span
    | Npy of features: (string * Span) list * targets: string option
    /// generate count f { low; high; noise }: x uniform in [low, high], y = f x + noise·N(0, 1)
    | Generate of count: int * f: (float -> float) * low: float * high: float * noise: float

type Optimizer =
    { Kind: OptimizerKind
      Lr: float
      Momentum: float
      Nesterov: bool
      Beta1: float
      Beta2: float
      Eps: float
      WeightDecay: float
      Rho: float }

type Schedule =
    { Kind: ScheduleKind
      Every: int
      Factor: float
      Rate: float
      Warmup: int
      Min: float
      Patience: int
      Monitor: Monitor }

type EarlyStopping = { Monitor: Monitor; Patience: int }

/// Every setting of a `train` block. Defaults are documented in docs/language.md.
type TrainConfig =
    { Network: string
      Span: Span
      Data: DataSource
      DataSpan: Span
      /// the target as an expression of `input` (unsupervised training), or None for the data's targets
      Target: Expr option
      Validation: float
      /// `validation = csv "val.csv" { .. }` (or idx, npy, rows, generate): validation rows from a source of their own,
      /// in the form of `data` (then `Validation` is 0)
      ValidationData: DataSource option
      /// visit the training rows in a new order every epoch (default true; `shuffle = false` turns it off)
      Shuffle: bool
      /// `shuffle = true` written in the block: also shuffle the rows once, before the validation split
      /// (for files sorted by class); without it the validation rows are the file's last rows
      ShuffleRows: bool
      Loss: LossKind
      HuberDelta: float
      /// `classWeights = [..]`: a weight per class for the classification losses (ClassWeights in the runtime)
      ClassWeights: float list option
      Metrics: Metric list
      Optimizer: Optimizer
      Schedule: Schedule option
      L1: float
      L2: float
      ClipNorm: float option
      ClipValue: float option
      Batch: int
      Epochs: int
      Stop: EarlyStopping option
      Checkpoint: string option
      Seed: int
      /// stop when a batch's loss exceeds this many times the first batch's (at least 1); 0: off
      Divergence: float
      /// `init = weights "..." { rename }`: the weights training starts from (TransferConfig)
      Init: TransferConfig.Init option
      /// `freeze = ["dense1.*"]`: globs of the parameter paths kept fixed
      Freeze: TransferConfig.Freeze list
      /// where each field was written, for errors found later (data files, run time)
      FieldSpans: Map<string, Span> }

// The names the fields accept come from the runtime's types, parsed here once into typed values.
let private losses = List.ofSeq LossKind.Names

let fieldNames =
    [ "data"; "target"; "validation"; "shuffle"; "loss"; "metrics"; "optimizer"; "schedule"; "regularize"
      "clip"; "batch"; "epochs"; "stop"; "checkpoint"; "seed"; "divergence"; "classWeights" ]
    @ TransferConfig.fieldNames

let private optimizers = List.ofSeq OptimizerKind.Names
let private schedules = List.ofSeq ScheduleKind.Names

/// The fields whose value names one of a few choices: the field's code, what a choice is called, the choices.
let private choices: Map<string, string * string * string * string list> =
    Map [ "loss", ("NN0408", "loss", "losses", losses)
          "metrics", ("NN0409", "metric", "metrics", MetricConfig.names)
          "optimizer", ("NN0403", "optimizer", "optimizers", optimizers)
          "schedule", ("NN0404", "schedule", "schedules", schedules)
          "data", ("NN0405", "data source", "data sources", [ "rows"; "idx"; "csv"; "npy"; "generate" ])
          "regularize", ("NN0410", "regularizer", "regularizers", [ "l1"; "l2" ])
          "clip", ("NN0411", "clipping", "clippings", [ "norm"; "value" ])
          "stop", ("NN0412", "stopping rule", "stopping rules", [ "earlyStopping" ]) ]

/// The fields whose value is a number or a flag, and what they expect.
let private plainValues =
    Map [ "epochs", "a whole number of at least 1"; "batch", "a positive whole number"; "seed", "a whole number ≥ 0"
          "validation", "a fraction in [0, 1)"; "shuffle", "true or false"; "checkpoint", "a folder name in quotes" ]

/// The names at the head of a field's value: `adam` in `adam { lr = 0.1 }`, each item of `[accuracy]`.
let rec private heads (e: Expr) : (string * Span) list =
    match e with
    | Paren(x, _) -> heads x
    | Ident(name, span) -> [ name, span ]
    | App(f, _, _) -> heads f
    | List(items, _) -> items |> List.collect heads
    | _ -> []

/// An undefined name where a `train` field expects one of its choices (`loss = msee`) or a number
/// (`epochs = abc`) says what the field accepts, under the field's own code, rather than "`x` is not defined";
/// other diagnostics pass unchanged. Used for the block's own fields and `--set` overrides alike.
let explainUnknown (field: Field) (d: Diagnostic) : Diagnostic =
    let named = heads field.Value |> List.tryFind (fun (_, s) -> Span.same s d.Span)
    match named with
    | Some(name, _) when d.Code = "NN0301" ->
        match choices.TryFind field.Name, plainValues.TryFind field.Name with
        | Some(code, what, plural, names), _ ->
            let hint = match suggest name names with Some h -> sprintf "; did you mean `%s`?" h | None -> ""
            let list = names |> List.map (sprintf "`%s`") |> String.concat ", "
            let message = sprintf "unknown %s `%s`%s (the %s are %s)" what name hint plural list
            { d with Code = code; Message = message }
        | None, Some what ->
            let message = sprintf "`%s` expects %s, but `%s` is not a number or a defined name" field.Name what name
            { d with Code = "NN0407"; Message = message }
        | None, None -> d
    | _ -> d

let defaultOptimizer =
    { Kind = OptimizerKind.Sgd; Lr = 0.01; Momentum = 0.0; Nesterov = false; Beta1 = 0.9; Beta2 = 0.999; Eps = 1e-8
      WeightDecay = 0.0; Rho = 0.9 }

let private optimizer (source: Settings.Source) (v: Value) (span: Span) : Optimizer =
    match v with
    | VConfig(name, args) when not (isNull (OptimizerKind.Find name)) ->
        let kind = OptimizerKind.Find name
        let f = Settings.read source kind.Name (List.ofSeq kind.HyperParameters) span args
        let fraction name dflt = Settings.number "NN0403" f name dflt (fun x -> x >= 0.0 && x < 1.0) "must be in [0, 1)"
        let nonNegative name dflt = Settings.number "NN0403" f name dflt (fun x -> x >= 0.0) "must not be negative"
        let momentum = fraction "momentum" 0.0
        let nesterov =
            match Settings.tryFind f "nesterov" with
            | Some { Value = VBool b; Span = s } ->
                if b && momentum <= 0.0 then fail "NN0403" s "`nesterov = true` needs a positive `momentum`"
                b
            | Some { Value = v; Span = s } ->
                fail "NN0403" s (sprintf "`nesterov` is true or false, not %s" (Value.describe v))
            | None -> false
        { Kind = kind
          Lr = Settings.number "NN0403" f "lr" kind.DefaultLr (fun x -> x > 0.0) "must be positive"
          Momentum = momentum
          Nesterov = nesterov
          Beta1 = fraction "beta1" 0.9
          Beta2 = fraction "beta2" 0.999
          // the language's rmsprop defaults (PyTorch's eps 1e-8 and rho 0.99) differ from the runtime spec's
          // (Keras' 1e-7 and 0.9), so they are written here
          Eps = nonNegative "eps" (if kind = OptimizerKind.RmsProp then 1e-8 else kind.DefaultEps)
          WeightDecay = nonNegative "weightDecay" kind.DefaultWeightDecay
          Rho = fraction "rho" (if kind = OptimizerKind.RmsProp then 0.99 else 0.9) }
    | v ->
        fail "NN0403" span
            (sprintf "`optimizer` is one of %s, but this is %s" (String.concat ", " optimizers) (Value.describe v))

/// The `monitor` setting of `f` (MetricConfig.monitor); a monitor of a metric not in `metrics` fails with `needs`.
let private monitorIn ctx code (f: Settings.Settings) (metrics: Metric list) (needs: string -> string -> string) =
    MetricConfig.monitor ctx code (Settings.tryFind f "monitor") metrics needs

let private schedule ctx (source: Settings.Source) (metrics: Metric list) (v: Value) (span: Span) : Schedule =
    let oneOf = String.concat ", " schedules
    let name, args =
        match v with
        | VConfig(k, a) -> k, a
        | v -> fail "NN0404" span (sprintf "`schedule` is one of %s, but this is %s" oneOf (Value.describe v))
    let kind =
        match Option.ofObj (ScheduleKind.Find name) with
        | Some k when k <> ScheduleKind.Constant -> k
        | _ -> fail "NN0404" span (sprintf "`schedule` is one of %s, but this is `%s`" oneOf name)
    let allowed = List.ofSeq kind.Settings
    let f = Settings.read source name allowed span args
    let number name dflt ok rule = Settings.number "NN0404" f name dflt ok rule
    { Kind = kind
      Every = Settings.whole "NN0404" f "every" 10 1
      Factor =
        number "factor" (if kind = ScheduleKind.ReduceOnPlateau then 0.1 else 0.5) (fun x -> x > 0.0 && x <= 1.0)
            "must be in (0, 1]"
      Rate = number "rate" 0.95 (fun x -> x > 0.0) "must be positive"
      Warmup =
        if kind = ScheduleKind.Warmup then Settings.whole "NN0404" f "epochs" 1 0
        else Settings.whole "NN0404" f "warmup" 0 0
      Min = number "min" 0.0 (fun x -> x >= 0.0) "must not be negative"
      Patience = Settings.whole "NN0404" f "patience" 3 0
      // the values early stopping can watch; validation values fall back to training values without validation rows
      Monitor =
        let needs m l = sprintf "`reduceOnPlateau` on `%s` needs `metrics = [%s]`" m l // (a format parsed if used)
        let monitor = monitorIn ctx "NN0404" f metrics needs
        monitor }

let private str (v: Value) (span: Span) what =
    match v with
    | VStr s -> s
    | v -> fail "NN0405" span (sprintf "%s should be a file name in quotes, but this is %s" what (Value.describe v))

let private floats (source: Settings.Source) (v: Value) (span: Span) =
    let number j (x: Value) =
        match x with
        | VNum(x, _) -> x
        | x ->
            fail "NN0405" (Settings.item source span j)
                (sprintf "a row holds numbers, but this is %s" (Value.describe x))
    match v with
    | VList items -> items |> List.mapi number |> Array.ofList
    | VNum(x, _) -> [| x |]
    | v ->
        fail "NN0405" span
            (sprintf "a row should be a list of numbers such as [0; 1], but this is %s" (Value.describe v))

let private column (v: Value) (span: Span) =
    match v with
    | VNum(x, _) when x = floor x && x >= 0.0 && x < 1e9 -> ByIndex(int x)
    | VStr s -> ByName s
    | v ->
        fail "NN0405" span
            (sprintf "a column is a name in quotes or a 0-based index, but this is %s" (Value.describe v))

module private TableSettings =
    let private show c = match c with ByName n -> sprintf "`%s`" n | ByIndex i -> sprintf "column %d" i

    /// `categorical`, `indexed` and `missing` of `csv` (NN0445–NN0447), checked against `features` and `label`
    /// where they name columns the same way (names against names, indices against indices); the reader checks the
    /// rest once it has the header (NN0578).
    let read (f: Settings.Settings) (features: Column list) (label: Column option)
             (columns: string -> (Column * Span) list) : Table =
        let categorical, indexed = columns "categorical", columns "indexed"
        let comparable a b =
            match a, b with
            | ByName _, ByName _ | ByIndex _, ByIndex _ -> true
            | _ -> false
        for kind, cols in [ "categorical", categorical; "indexed", indexed ] do
            for c, at in cols do
                if label = Some c then
                    fail "NN0445" at (sprintf "%s is the `label`; `%s` lists feature columns" (show c) kind)
                let known = features |> List.filter (comparable c)
                if not known.IsEmpty && not (List.contains c known) then
                    fail "NN0445" at
                        (sprintf "%s is in `%s` but not among the `features` (%s); add it to them"
                            (show c) kind (features |> List.map show |> String.concat ", "))
        let tagged kind = List.map (fun (c, s) -> c, s, kind)
        let all = tagged "categorical" categorical @ tagged "indexed" indexed
        all |> List.iteri (fun i (c, at, kind) ->
            match all |> List.take i |> List.tryFind (fun (d, _, _) -> d = c) with
            | Some(_, _, first) when first = kind ->
                fail "NN0446" at (sprintf "%s is listed twice in `%s`" (show c) kind)
            | Some _ ->
                fail "NN0446" at
                    (sprintf "%s is in both `categorical` and `indexed`; a text column is one or the other" (show c))
            | None -> ())
        let missing =
            match Settings.tryFind f "missing" with
            | None -> None
            | Some { Value = VBuiltin(b, []) } when b.Name = "mean" ->
                Some(Nn.Runtime.Data.MissingSpec(Nn.Runtime.Data.MissingKind.Mean))
            | Some { Value = VNum(x, _) } when System.Single.IsFinite(float32 x) ->
                Some(Nn.Runtime.Data.MissingSpec(Nn.Runtime.Data.MissingKind.Constant, float32 x))
            | Some { Value = v; Span = at } ->
                fail "NN0447" at
                    (sprintf "`missing` is `mean` (the column's mean over the training rows) or a number such as 0, \
but this is %s" (Value.describe v))
        { Categorical = List.map fst categorical; Indexed = List.map fst indexed; Missing = missing }

let private data (source: Settings.Source) (ctx: EvalContext) (baseDir: string) (v: Value) (span: Span) : DataSource =
    let path (p: string) = System.IO.Path.GetFullPath(System.IO.Path.Combine(baseDir, p))
    match v with
    | VConfig("rows", [ VList rows, rs ]) ->
        if rows.IsEmpty then fail "NN0405" rs "`rows` needs at least one row"
        let rowSpan i = Settings.item source rs i
        let pairs =
            rows |> List.mapi (fun i r ->
                let at = rowSpan i
                match r with
                | VTuple [ x; y ] ->
                    let ySpan = Settings.item source at 1
                    (floats source x (Settings.item source at 0), floats source y ySpan), ySpan
                | v ->
                    fail "NN0405" at
                        (sprintf "each row is a pair `features, target` such as [0; 1], [1], but this is %s"
                            (Value.describe v)))
        let pairs, spans = List.unzip pairs
        let xs, ys = List.unzip pairs
        let widthX, widthY = xs.Head.Length, ys.Head.Length
        pairs |> List.iteri (fun i (x, y) ->
            if x.Length <> widthX || y.Length <> widthY then
                fail "NN0405" (rowSpan i)
                    (sprintf "row %d has %d features and %d target values, but row 1 has %d and %d"
                        (i + 1) x.Length y.Length widthX widthY))
        Rows(Array.ofList xs, Array.ofList ys, Array.ofList spans)
    | VConfig("rows", [ v, s ]) ->
        fail "NN0405" s (sprintf "`rows` expects a list of rows, but got %s" (Value.describe v))
    // `idx "images"` and `npy "x"` without targets (unsupervised training) arrive here normalized to VConfig
    | VConfig("idx", [ img, s ]) -> Idx(path (str img s "the images file"), None)
    | VConfig("idx", [ img, s; lbl, t ]) ->
        Idx(path (str img s "the images file"), Some(path (str lbl t "the labels file")))
    | VConfig("npy", (x, s) :: rest) ->
        let files =
            match x with
            | VList files when not files.IsEmpty ->
                files |> List.mapi (fun i f ->
                    let at = Settings.item source s i
                    path (str f at "a features file"), at)
            | VList _ -> fail "NN0405" s "`npy` needs at least one features file"
            | x -> [ path (str x s "the features file"), s ]
        match rest with
        | [ y, t ] -> Npy(files, Some(path (str y t "the targets file")))
        | _ -> Npy(files, None)
    | VConfig("csv", (file, s) :: rest) ->
        let f =
            Settings.read source "csv" [ "features"; "label"; "categorical"; "indexed"; "missing" ] span rest
        let columnsOf (v: Value) (at: Span) =
            match v with
            | VList cols ->
                cols |> List.mapi (fun i c -> let ci = Settings.item source at i in column c ci, ci)
            | v -> [ column v at, at ]
        let columns name =
            match Settings.tryFind f name with
            | Some { Value = v; Span = at } -> columnsOf v at
            | None -> []
        let groups =
            match Settings.tryFind f "features" with
            // a list of lists: one list of columns per input
            | Some { Value = VList((VList _ :: _) as groups); Span = at } ->
                groups |> List.mapi (fun i g -> let gs = Settings.item source at i in List.map fst (columnsOf g gs), gs)
            | Some { Value = v; Span = at } -> [ List.map fst (columnsOf v at), at ]
            | None -> []
        let label = Settings.tryFind f "label" |> Option.map (fun l -> column l.Value l.Span)
        let features = groups |> List.collect fst
        Csv(path (str file s "the CSV file"), groups, label, TableSettings.read f features label columns)
    | VConfig("generate", [ count, cs; fn, fs; opts, os ]) ->
        let n =
            int (
                Settings.checkNumber "NN0405" "generate" (fun x -> x = floor x && x >= 1.0 && x <= 1e7)
                    "needs a whole count from 1 to 10000000" count cs
            )
        let o = Settings.read source "generate" [ "low"; "high"; "noise" ] os [ opts, os ]
        let number name dflt ok rule = Settings.number "NN0405" o name dflt ok rule
        let low, high = number "low" -1.0 (fun _ -> true) "", number "high" 1.0 (fun _ -> true) ""
        if not (high > low) then
            let at =
                match Settings.tryFind o "high", Settings.tryFind o "low" with
                | Some h, _ -> h.Span
                | None, Some l -> l.Span
                | None, None -> os
            fail "NN0405" at (sprintf "`generate` needs low < high, got %s and %s" (showNumber low) (showNumber high))
        let f x =
            match ctx.Apply ctx fs fn (VNum(x, false), fs) with
            | VNum(y, _) -> y
            | v ->
                fail "NN0405" fs
                    (sprintf "the function given to `generate` must return a number, but it returned %s"
                        (Value.describe v))
        f low |> ignore // report a bad function now, not in the middle of data generation
        Generate(n, f, low, high, number "noise" 0.0 (fun x -> x >= 0.0) "must not be negative")
    | VConfig(k, _) when List.contains k [ "idx"; "csv"; "npy"; "generate"; "rows" ] ->
        fail "NN0405" span
            (sprintf "`%s` is missing arguments: it expects %s" k
                (Builtins.Config.all |> List.find (fun b -> b.Name = k)).Doc)
    | v ->
        fail "NN0405" span (sprintf "`data` is one of rows, idx, csv, npy, generate, but this is %s" (Value.describe v))

let private formName (d: DataSource) =
    match d with
    | Rows _ -> "rows"
    | Idx _ -> "idx"
    | Csv _ -> "csv"
    | Npy _ -> "npy"
    | Generate _ -> "generate"

let private columns (cols: Column list) =
    let one c = match c with ByName n -> sprintf "\"%s\"" n | ByIndex i -> string i
    match cols with
    | [ c ] -> one c
    | cs -> "[" + (cs |> List.map one |> String.concat "; ") + "]"

/// A `validation` data source (`read`, written `v` at `span`) checked against the form of `data`: the same source
/// kind (NN0450), the same CSV columns (NN0451; `csv "val.csv"` without settings reads those of `data`), labels
/// or targets exactly when `data` has them (NN0452), `rows` as wide as those of `data` (NN0580, known here already).
let private sameForm (data: DataSource) (v: Value) (read: DataSource) (span: Span) : DataSource =
    let form = formName data
    if formName read <> form then
        fail "NN0450" span
            (sprintf "`validation` reads `%s`, but `data` reads `%s`: " (formName read) form
             + sprintf "the validation rows are read as the training rows, so give them as `%s` too" form)
    let targets what (has: bool) (given: bool) =
        if has && not given then
            fail "NN0452" span
                (sprintf "`data` has a %s, so `validation` needs one too: the validation loss compares with it" what)
        if given && not has then
            fail "NN0452" span
                (sprintf "`data` has no %s, so `validation` takes none either (the target comes from `target`)" what)
    match data, read, v with
    | Csv(_, features, label, table), Csv(path, _, _, _), VConfig("csv", [ _ ]) -> Csv(path, features, label, table)
    | Csv(_, features, label, _), Csv(_, vf, vl, _), _ when vf <> features || vl <> label ->
        let show (f: (Column list * Span) list) (l: Column option) =
            let label = match l with Some l -> "label " + columns [ l ] | None -> "no label"
            match f with
            | [] -> sprintf "every column but the label as features, %s" label
            | [ one, _ ] -> sprintf "features %s, %s" (columns one) label
            | lists -> sprintf "features [%s], %s" (lists |> List.map (fst >> columns) |> String.concat "; ") label
        fail "NN0451" span
            (sprintf "`validation` reads %s, but `data` reads %s: " (show vf vl) (show features label)
             + "leave out `{ ... }` to read the columns of `data`")
    | Rows(xs, ys, _), Rows(vx, vy, _), _ when
        xs.Length > 0 && (vx[0].Length, vy[0].Length) <> (xs[0].Length, ys[0].Length)
        ->
        fail "NN0580" span
            (sprintf "the validation rows have %d features and %d target values, but the rows of `data` have %d and %d"
                vx[0].Length vy[0].Length xs[0].Length ys[0].Length)
    | Idx(_, l), Idx(_, vl), _ -> targets "labels file" l.IsSome vl.IsSome; read
    | Npy(_, y), Npy(_, vy), _ -> targets "targets file" y.IsSome vy.IsSome; read
    | _ -> read

/// `classWeights = [1.0; 3.0; ..]` (NN0435): numbers, none negative, for a loss that takes them; their count is
/// checked against the network's classes by Compile.checkTrain.
let private classWeights (source: Settings.Source) (loss: LossKind) (v: Value) (span: Span) : float list =
    if not (ClassWeights.Takes loss) then
        fail "NN0435" span
            (sprintf "`classWeights` weighs the classes of softmaxCrossEntropy, crossEntropy or binaryCrossEntropy, "
             + sprintf "but the loss is `%s`" loss.Name)
    match v with
    | VList items when not items.IsEmpty ->
        items |> List.mapi (fun i x ->
            let at = Settings.item source span i
            match x with
            | VNum(w, _) when w >= 0.0 && not (System.Double.IsInfinity w) -> w
            | VNum(w, _) -> fail "NN0435" at (sprintf "a class weight must not be negative, got %s" (showNumber w))
            | x -> fail "NN0435" at (sprintf "a class weight is a number, but this is %s" (Value.describe x)))
    | v ->
        fail "NN0435" span
            (sprintf "`classWeights` is a list of numbers, one per class, such as [1.0; 3.0], but this is %s"
                (Value.describe v))

/// A settings built-in applied to fewer arguments than it takes (`idx "images.gz"`, bare `adam`) reads as
/// the setting with the arguments given, so optional trailing arguments take their defaults.
let rec private normalize (v: Value) =
    match v with
    | VBuiltin(b, args) when Builtins.Config.all |> List.exists (fun c -> c.Name = b.Name) -> VConfig(b.Name, args)
    | VList items -> VList(items |> List.map normalize)
    | v -> v

/// Read a `train` block's fields (each evaluated with `eval`) into typed settings; the target stays an expression.
/// Every error points at the part of the field that is wrong. Without `data`: NN0406 when `requireData`,
/// otherwise empty `rows` that are never loaded (the compiler checks blocks the embedding API feeds arrays to).
let rec private readWith (requireData: bool) (ctx: EvalContext) (baseDir: string) (td: TrainDecl)
                         (follow: string -> Expr option) (eval: Expr -> Value) : TrainConfig =
    // the field being read: an error in a `let` it uses gets a note at the field
    let mutable reading: Field option = None
    let inside (outer: Span) (s: Span) = s.File = outer.File && outer.Start <= s.Start && s.End <= outer.End
    try
        readFields requireData ctx baseDir td { Exprs = td.Fields |> List.map (fun f -> f.Value); Follow = follow } eval
            (fun f -> reading <- Some f)
    with DiagnosticException d ->
        match reading with
        | Some f when
            not (inside td.Span d.Span)
            && not (inside f.Span d.Span)
            && not (d.Notes |> List.exists (fun n -> n.Span |> Option.exists (inside f.Span)))
            ->
            let note = { Span = Some f.Value.Span; Message = sprintf "used by `%s` here" f.Name }
            raise (DiagnosticException { d with Notes = d.Notes @ [ note ] })
        | _ -> reraise ()

and private readFields (requireData: bool) (ctx: EvalContext) (baseDir: string) (td: TrainDecl)
                       (source: Settings.Source) (eval: Expr -> Value) (reading: Field -> unit) : TrainConfig =
    let seen = System.Collections.Generic.HashSet<string>()
    for f in td.Fields do
        if not (List.contains f.Name fieldNames) then
            let hint = match suggest f.Name fieldNames with Some h -> sprintf "; did you mean `%s`?" h | None -> ""
            fail "NN0401" f.NameSpan (sprintf "`train` has no field `%s`%s" f.Name hint)
        if not (seen.Add f.Name) then fail "NN0308" f.NameSpan (sprintf "the field `%s` is given twice" f.Name)
    let field name = td.Fields |> List.tryFind (fun f -> f.Name = name) |> Option.map (fun f -> reading f; f)
    let eval (e: Expr) =
        try eval e
        with DiagnosticException d when d.Code = "NN0302" -> raise (DiagnosticException(Settings.negativeHint e d))
    let evalField (f: Field) =
        try eval f.Value with DiagnosticException d -> raise (DiagnosticException(explainUnknown f d))
    let value name = field name |> Option.map (fun f -> normalize (evalField f), f.Value.Span)
    let number name dflt check (msg: string) =
        match value name with
        | Some(v, s) -> Settings.checkNumber "NN0407" name check msg v s
        | None -> dflt
    let loss, delta =
        match value "loss" with
        | Some(VSymbol s, _) when List.contains s losses -> LossKind.Find s, 1.0
        | Some(VConfig("huber", [ d, ds ]), _) ->
            LossKind.Huber, Settings.checkNumber "NN0408" "huber" (fun x -> x > 0.0) "needs a positive delta" d ds
        | Some(VConfig("huber", []), _) -> LossKind.Huber, 1.0
        | Some(f, s) when WrittenLoss.isFunction f -> WrittenLoss.ofFunction ctx.Apply f s, 1.0
        | Some(v, s) ->
            fail "NN0408" s
                (sprintf "`loss` is one of %s, " (String.concat ", " losses)
                 + "or a function of the prediction and the target "
                 + sprintf "(`fun p t -> ...`), but this is %s" (Value.describe v))
        | None ->
            fail "NN0408" td.Span
                (sprintf "`train %s` needs a `loss` field (one of %s)" td.Network (String.concat ", " losses))
    let metrics =
        match value "metrics" with
        | Some(v, s) -> MetricConfig.read ctx v s (Settings.item source s)
        | None -> []
    let mutable l1, l2 = 0.0, 0.0
    match value "regularize" with
    | Some(v, s) ->
        let items = match v with VList xs -> xs |> List.mapi (fun i x -> x, Settings.item source s i) | v -> [ v, s ]
        for item, at in items do
            let coefficient name c cs =
                Settings.checkNumber "NN0410" name (fun x -> x >= 0.0) "must not be negative" c cs
            match item with
            | VConfig("l1", [ c, cs ]) -> l1 <- coefficient "l1" c cs
            | VConfig("l2", [ c, cs ]) -> l2 <- coefficient "l2" c cs
            | v ->
                fail "NN0410" at
                    (sprintf "`regularize` is `l1 c`, `l2 c` or a list of them, but this is %s" (Value.describe v))
    | None -> ()
    let clipNorm, clipValue =
        let limit name c cs =
            Settings.checkNumber "NN0411" (sprintf "clip = %s" name) (fun x -> x > 0.0) "needs a positive limit" c cs
        match value "clip" with
        | Some(VConfig("norm", [ c, cs ]), _) -> Some(limit "norm" c cs), None
        | Some(VConfig("value", [ c, cs ]), _) -> None, Some(limit "value" c cs)
        | Some(v, s) -> fail "NN0411" s (sprintf "`clip` is `norm c` or `value c`, but this is %s" (Value.describe v))
        | None -> None, None
    let stop =
        match value "stop" with
        | Some(VConfig("earlyStopping", args), s) ->
            let f = Settings.read source "earlyStopping" [ "monitor"; "patience" ] s args
            let needs m l = sprintf "early stopping on `%s` needs `metrics = [%s]`" m l
            let monitor = monitorIn ctx "NN0412" f metrics needs
            Some { Monitor = monitor; Patience = Settings.whole "NN0412" f "patience" 3 0 }
        | Some(v, s) ->
            fail "NN0412" s
                (sprintf "`stop` is `earlyStopping { monitor; patience }`, but this is %s" (Value.describe v))
        | None -> None
    let settings =
        { Network = td.Network
          Span = td.Span
          Data = Rows([||], [||], [||])
          DataSpan = td.Span
          Target = field "target" |> Option.map (fun f -> f.Value)
          Validation =
            match value "validation" with
            | Some(VConfig _, _) -> 0.0 // a data source of its own, read after `data`
            | Some(VStr p, s) ->
                fail "NN0450" s
                    (sprintf "`validation` is a fraction in [0, 1) or a data source in the form of `data`, "
                     + sprintf "such as `csv \"%s\"`, but this is a string" p)
            | _ -> number "validation" 0.0 (fun x -> x >= 0.0 && x < 1.0) "must be a fraction in [0, 1)"
          ValidationData = None
          Shuffle =
            (match value "shuffle" with
             | Some(VBool b, _) -> b
             | Some(v, s) -> fail "NN0407" s (sprintf "`shuffle` is true or false, not %s" (Value.describe v))
             | None -> true)
          ShuffleRows = (match value "shuffle" with Some(VBool true, _) -> true | _ -> false)
          Loss = loss
          HuberDelta = delta
          ClassWeights = value "classWeights" |> Option.map (fun (v, s) -> classWeights source loss v s)
          Metrics = metrics
          Optimizer = (match value "optimizer" with Some(v, s) -> optimizer source v s | None -> defaultOptimizer)
          Schedule = value "schedule" |> Option.map (fun (v, s) -> schedule ctx source metrics v s)
          L1 = l1
          L2 = l2
          ClipNorm = clipNorm
          ClipValue = clipValue
          Batch =
            int (number "batch" 32.0 (fun x -> x >= 1.0 && x = floor x && x < 1e9) "must be a positive whole number")
          Epochs =
            int (
                number "epochs" 10.0 (fun x -> x >= 1.0 && x = floor x && x < 1e9)
                    "must be a whole number of at least 1"
            )
          Stop = stop
          Checkpoint =
            (match value "checkpoint" with
             | Some(VStr p, _) -> Some(System.IO.Path.GetFullPath(System.IO.Path.Combine(baseDir, p)))
             | Some(v, s) ->
                 fail "NN0407" s (sprintf "`checkpoint` is a folder name in quotes, not %s" (Value.describe v))
             | None -> None)
          Seed =
            int (number "seed" 0.0 (fun x -> x >= 0.0 && x = floor x && x < 2147483648.0) "must be a whole number ≥ 0")
          Divergence =
            number "divergence" Nn.Runtime.Training.TrainOptions.DefaultDivergence
                (fun x -> x = 0.0 || (x >= 1.0 && not (System.Double.IsInfinity x)))
                "must be 0 (off) or a factor of at least 1"
          Init = value "init" |> Option.map (fun (v, s) -> TransferConfig.readInit source baseDir v s)
          Freeze = (match value "freeze" with Some(v, s) -> TransferConfig.readFreeze source v s | None -> [])
          FieldSpans = td.Fields |> List.map (fun f -> f.Name, f.Value.Span) |> Map.ofList }
    // the data last: every other setting is checked even when the block has no `data`
    let settings =
        match field "data" with
        | Some f ->
            { settings with
                Data = data source ctx baseDir (normalize (evalField f)) f.Value.Span
                DataSpan = f.Value.Span }
        | None when requireData ->
            fail "NN0406" td.Span
                (sprintf "`train %s` needs a `data` field saying where the examples come from" td.Network)
        | None -> settings
    // validation rows from a source of their own, read in the form of `data`
    match value "validation" with
    | Some(VConfig _ as v, s) ->
        let read = data source ctx baseDir v s
        let hasData = (field "data").IsSome
        { settings with ValidationData = Some(if hasData then sameForm settings.Data v read s else read) }
    | _ -> settings

/// Read a `train` block into typed settings for training: a block without `data` is NN0406. `follow` finds the
/// body of a top-level `let` a name refers to (Settings.follow), for errors inside it.
let read ctx baseDir td follow eval = readWith true ctx baseDir td follow eval

/// Check a `train` block's settings without needing its data: a block without `data` (the embedding API gives
/// the examples) reads with empty `rows`, which are never loaded.
let check ctx baseDir td follow eval = readWith false ctx baseDir td follow eval
