/// The data's targets against the loss, before the first step: `binaryCrossEntropy` compares probabilities (a
/// target of 2 would train its loss below zero without end), and the cross-entropies take class numbers of the
/// network's classes (or, a target per class, probabilities). The first target that does not fit is an error
/// naming where it came from (the `rows` item, the file and row, or the row of the arrays given to `Fit`) and its
/// value.
module internal Nn.Compiler.Targets

open System.Globalization
open Nn.Dsl
open Nn.Runtime.IR
open Nn.Runtime.Data
open Nn.Runtime.Ops
open Nn.Compiler.TrainConfig

/// Where a row of the data came from: the span to report at and the words that name the row.
type Origin = int -> Span * string

let private number (v: float32) = v.ToString(CultureInfo.InvariantCulture)

/// The file name in messages (as the data readers write it).
let private name (path: string) = System.IO.Path.GetFileName path

/// The origin of the rows of a `train` block's data source (row i counts from 0, in the order of the source).
let origin (cfg: TrainConfig) : Origin =
    match cfg.Data with
    | Rows(_, _, spans) ->
        fun i -> (if i < spans.Length then spans[i] else cfg.DataSpan), sprintf "row %d of `rows`" (i + 1)
    | Csv(path, _, label, _) ->
        fun i ->
            // the row's line in the file (blank lines are skipped) and the label's column, read again for the message
            let where =
                try
                    let text = System.Text.UTF8Encoding(false, false).GetString(FileBytes.Read path)
                    let records = CsvParser.Parse(text, path)
                    let header = records[0].Fields
                    let col =
                        match label with
                        | Some(ByName n) -> Array.tryFindIndex ((=) n) header
                        | Some(ByIndex c) when c < header.Length -> Some c
                        | _ -> None
                    let line = records[i + 1].Line
                    match col with
                    | Some c -> sprintf "%s row %d, column %d (%s)" (name path) line (c + 1) header[c]
                    | None -> sprintf "%s row %d" (name path) line
                with _ -> sprintf "%s data row %d" (name path) (i + 1)
            cfg.DataSpan, where
    | Idx(_, Some labels) -> fun i -> cfg.DataSpan, sprintf "%s item %d" (name labels) (i + 1)
    | Idx(images, None) -> fun i -> cfg.DataSpan, sprintf "%s item %d" (name images) (i + 1)
    | Npy(_, Some y) -> fun i -> cfg.DataSpan, sprintf "%s row %d" (name y) (i + 1)
    | Npy((x, _) :: _, None) -> fun i -> cfg.DataSpan, sprintf "%s row %d" (name x) (i + 1)
    | Npy([], None) -> fun i -> cfg.DataSpan, sprintf "row %d" (i + 1)
    | Generate _ -> fun i -> cfg.DataSpan, sprintf "generated row %d" (i + 1)

/// The origin of arrays given to the embedding API's `Fit` (reported against the program's file).
let arrays (file: string) : Origin =
    fun i -> Span.make file (0, 0) (0, 0), sprintf "row %d of the targets" (i + 1)

/// Check every target against the loss, for a network whose output has the shape `output`. NN0540: a class number
/// that is not a whole number among the output's classes; NN0545: a value outside [0, 1] where the loss compares
/// probabilities. `loss` is the span of the `loss` field, shown in a note.
let check (cfg: TrainConfig) (network: string) (output: Shape) (origin: Origin) (data: Dataset) =
    let t = data.Targets
    let classes = if output.Rank > 0 && output[-1].IsFixed then output[-1].Size else 0
    let loss = cfg.Loss
    let crossEntropy = loss.Target = LossTarget.Classes
    let checkedByLoss = loss.Target <> LossTarget.Values && loss.Target <> LossTarget.AsGiven
    if not (isNull t) && t.Rows > 0 && checkedByLoss then
        let width = t.Data.Length / t.Rows
        let lossNote = { Span = cfg.FieldSpans.TryFind "loss"; Message = sprintf "the loss is `%s`" loss.Name }
        let report code (i: int) (message: string) =
            let span, where = origin (i / width)
            let column = if width > 1 then sprintf ", target %d" (i % width + 1) else ""
            let d = Diagnostic.error code span (sprintf "%s%s: %s" where column message)
            raise (DiagnosticException { d with Notes = (if lossNote.Span.IsSome then [ lossNote ] else []) })
        // class numbers ([..] or [.., 1] for an output [.., k]), as Losses.IsClassIndices decides in the graph
        let indices = t.Rank = output.Rank - 1 || (t.Rank = output.Rank && t.Shape[t.Rank - 1] = 1)
        if crossEntropy && indices && classes >= 2 then
            match t.Data |> Array.tryFindIndex (fun v -> not (v = floor v && v >= 0.0f && int v < classes)) with
            | Some i ->
                let v = t.Data[i]
                let shown =
                    match data.ClassNames with
                    | null -> number v
                    | names when v = floor v && v >= 0.0f && int v < names.Length && names[int v] <> number v ->
                        sprintf "`%s` (the data's class %d, counting from 0)" names[int v] (int v)
                    | _ -> number v
                report DataErrorCodes.BadLabel i
                    (sprintf "the label %s is not a class of `%s`: its output has %d classes, so `%s` needs %s"
                         shown network classes loss.Name (sprintf "class numbers 0 to %d" (classes - 1)))
            | None -> ()
        else
            match t.Data |> Array.tryFindIndex (fun v -> not (v >= 0.0f && v <= 1.0f)) with
            | Some i ->
                let why =
                    if crossEntropy then sprintf "`%s` with a target per class compares probabilities" loss.Name
                    else
                        "`binaryCrossEntropy` compares probabilities (0 or 1 for two classes): "
                        + "any other value trains its loss below zero"
                report "NN0545" i (sprintf "the target %s is outside [0, 1]; %s" (number t.Data[i]) why)
            | None -> ()
