/// The `metrics` field of a `train` block and the `monitor` of `earlyStopping` and `reduceOnPlateau`, read into the
/// runtime's Metric and Monitor values once: the built-in metrics by name, `topK k`, and functions of the program
/// (`let mape p t = ...` then `metrics = [mape]`), whose `let` name is their column in metrics.csv.
module internal Nn.Compiler.MetricConfig

open Nn.Dsl
open Nn.Compiler.Context
open Nn.Runtime.Ops
open Nn.Runtime.Training

/// The words `metrics` takes, for "did you mean" suggestions (functions of the program come on top).
let names = List.ofSeq Metric.Names @ [ "topK" ]

/// What `metrics` lists, in words.
let private listed =
    "`accuracy`, `topK k`, `precision`, `recall`, `f1`, `mae`, `mse`, `rmse`, `r2` or functions of the program "
    + "(`let name p t = ...`)"

/// How a metric is written in a `metrics` list: its name, or `topK k` for the metric named `top{k}`.
let written (m: Metric) =
    if isNull (Metric.Find m.Name) && m.Name.StartsWith "top" && m.Name.Length > 3
       && m.Name.Substring 3 |> Seq.forall System.Char.IsDigit then
        sprintf "topK %s" (m.Name.Substring 3)
    else m.Name

/// A function of the program as a metric: applied to the prediction and the target in the graph being built (in a
/// fresh evaluation of the function, so its nodes carry its own lines), giving a tensor.
let private functionMetric (ctx: EvalContext) (name: string) (f: Value) (span: Span) : Metric =
    let note = { Span = Some span; Message = sprintf "the metric `%s` is computed here" name }
    Metric.Function(name, fun b prediction target _ ->
        let c = Context.create (ForwardContext(b, false)) ctx.Apply
        let result =
            try
                let partial = c.Apply c span f (VTensor prediction, span)
                c.Apply c span partial (VTensor target, span)
            with DiagnosticException d when not (List.contains note d.Notes) ->
                // a mistake inside the function (found by `nn check` or when the step is built) names the metric
                raise (DiagnosticException { d with Notes = d.Notes @ [ note ] })
        match result with
        | VTensor n -> n
        | v ->
            fail "NN0409" span
                (sprintf "the metric `%s` must compute a tensor from the prediction and the target, but it gives %s"
                    name (Value.describe v)))

/// The metric a value names, or None when it names none: a built-in's symbol, `topK k`, or a named function of two
/// arguments. Errors (NN0409) for `topK` without a whole k ≥ 1 and for functions that cannot be metrics.
let tryMetric (ctx: EvalContext) (v: Value) (at: Span) : Metric option =
    match v with
    | VSymbol name when not (isNull (Metric.Find name)) -> Some(Metric.Find name)
    | VConfig("topK", [ VNum(k, _), ks ]) ->
        if k = floor k && k >= 1.0 && k < 1e6 then Some(Metric.TopK(int k))
        else fail "NN0409" ks (sprintf "`topK` needs a whole number k ≥ 1, got %s" (showNumber k))
    | VConfig("topK", [ v, ks ]) ->
        fail "NN0409" ks (sprintf "`topK` needs a whole number k ≥ 1, but this is %s" (Value.describe v))
    | VConfig("topK", []) ->
        fail "NN0409" at "`topK` needs k, the number of best-scored classes the true class may be among: `topK 5`"
    | VClosure(c, applied) ->
        match c.Name with
        | None ->
            fail "NN0409" at
                ("a metric needs a name for its column in metrics.csv: define it with `let name p t = ...` and "
                 + "write `metrics = [name]`")
        | Some name when not applied.IsEmpty || c.Params.Length <> 2 ->
            fail "NN0409" at
                (sprintf "the metric `%s` must take the prediction and the target (`let %s p t = ...`), " name name
                 + sprintf "but it takes %d argument%s" (c.Params.Length - applied.Length)
                     (if c.Params.Length - applied.Length = 1 then "" else "s"))
        | Some name -> Some(functionMetric ctx name v at)
    | _ -> None

/// The `metrics` list: `itemSpan i` is where item i was written. Unknown items and a metric listed twice are
/// NN0409.
let read (ctx: EvalContext) (v: Value) (span: Span) (itemSpan: int -> Span) : Metric list =
    match v with
    | VList ms ->
        let metrics =
            ms |> List.mapi (fun i m ->
                match tryMetric ctx m (itemSpan i) with
                | Some metric -> metric
                | None ->
                    fail "NN0409" (itemSpan i) (sprintf "`metrics` lists %s, but this is %s" listed (Value.describe m)))
        metrics |> List.iteri (fun i m ->
            if metrics |> List.take i |> List.exists (fun x -> x.Name = m.Name) then
                fail "NN0409" (itemSpan i) (sprintf "the metric `%s` is listed twice" m.Name))
        metrics
    | v -> fail "NN0409" span (sprintf "`metrics` is a list such as [accuracy; f1], but this is %s" (Value.describe v))

/// The `monitor` setting (default validationLoss): `loss`, `accuracy`, `validationLoss`, `validationAccuracy`, any
/// metric of `metrics` (`f1`, `topK 5`, `mape`), or `validation` and a metric or `loss` (`validation f1`) for its
/// value on the validation rows. A metric not in `metrics` fails with `needs monitor metric`, under `code`.
let monitor (ctx: EvalContext) (code: string) (setting: Settings.Setting option) (metrics: Metric list)
            (needs: string -> string -> string) : Monitor =
    match setting with
    | None -> Monitor.ValidationLoss
    | Some s ->
        let wrong (v: Value) =
            fail code s.Span
                (sprintf "`monitor` is %s, a metric of `metrics` (such as `f1`) or `validation` and one of them "
                     (Monitor.Names |> Seq.map (sprintf "`%s`") |> String.concat ", ")
                 + sprintf "(`validation f1`), but this is %s" (Value.describe v))
        let rec watched validation (v: Value) =
            match v with
            | VSymbol name when not validation && not (isNull (Monitor.Find name)) -> Monitor.Find name
            | VSymbol "loss" when validation -> Monitor.ValidationLoss
            | VConfig("validation", [ x, _ ]) when not validation -> watched true x
            | v ->
                match tryMetric ctx v s.Span with
                | Some m -> Monitor.Of(m, validation)
                | None -> wrong v
        let m = watched false s.Value
        match Option.ofObj m.Metric with
        | Some watchedMetric ->
            match metrics |> List.tryFind (fun x -> x.Name = watchedMetric.Name) with
            | Some listed -> m.WithMetric listed
            | None ->
                let shown =
                    if written watchedMetric = watchedMetric.Name then m.Name
                    elif m.Validation then "validation " + written watchedMetric
                    else written watchedMetric
                fail code s.Span (needs shown (written watchedMetric))
        | None -> m

/// A metric that does not fit the task the loss trains for (NN0433): a classification metric (accuracy, topK,
/// precision, recall, f1) with a regression loss (`mse`, `mae`, `huber`), or a regression metric (mae, mse, rmse, r2)
/// with a loss over classes (`softmaxCrossEntropy`, `crossEntropy`). A loss written in the program says nothing of
/// its task, so only shapes are checked then.
let checkTask (loss: LossKind) (metrics: Metric list) (lossSpan: Span) (metricsSpan: Span) =
    if Seq.contains loss LossKind.Builtins then
        for m in metrics do
            let misfit =
                match m.Task, loss.Target with
                | MetricTask.Classification, LossTarget.Values ->
                    Some(sprintf "`%s` measures a classifier, but `loss = %s` trains a regression "
                             (written m) loss.Name
                         + "(values, not classes); measure it with `mae`, `rmse` or `r2`, or train a classifier with "
                         + "`binaryCrossEntropy` or `softmaxCrossEntropy`")
                | MetricTask.Regression, LossTarget.Classes ->
                    Some(sprintf "`%s` measures a regression, but `loss = %s` trains a classifier " m.Name loss.Name
                         + "(scores over classes); measure it with `accuracy`, `topK k`, `precision`, `recall` or `f1`")
                | _ -> None
            match misfit with
            | Some message ->
                let note = { Span = Some lossSpan; Message = sprintf "the loss is `%s`" loss.Name }
                raise (DiagnosticException { Diagnostic.error "NN0433" metricsSpan message with Notes = [ note ] })
            | None -> ()
