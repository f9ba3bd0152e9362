/// Training progress: a live Spectre.Console bar on a terminal (loss, metrics, samples/s, ETA), plain per-epoch
/// lines otherwise (no cursor movement, no escapes), so logs and pipes stay readable.
module internal Nn.Cli.Progress

open System
open System.Globalization
open Spectre.Console
open Nn.Runtime.Training

let private inv = CultureInfo.InvariantCulture

/// A loss or metric as printed: 4 decimals, or scientific notation for very large or small values.
let number (x: float) =
    if abs x >= 1e4 || (abs x < 1e-3 && x <> 0.0) then x.ToString("0.000e+0", inv) else x.ToString("0.0000", inv)

/// `loss 0.1234  accuracy 0.9000  val_loss ...` of an epoch.
let measures (r: EpochReport) =
    let metrics (prefix: string) (m: Collections.Generic.IReadOnlyDictionary<string, float>) =
        if isNull m then ""
        else m |> Seq.map (fun kv -> sprintf "  %s%s %s" prefix kv.Key (number kv.Value)) |> String.concat ""
    let v =
        if r.ValidationLoss.HasValue then
            sprintf "  val_loss %s%s" (number r.ValidationLoss.Value) (metrics "val_" r.ValidationMetrics)
        else ""
    sprintf "loss %s%s%s" (number r.TrainLoss) (metrics "" r.Metrics) v

/// The measures of an epoch, short enough for the bar's line: `loss 0.1234 acc 0.9000 val_loss ...`.
let compact (r: EpochReport) =
    let short (name: string) = if name = "accuracy" then "acc" else name
    let metrics (prefix: string) (m: Collections.Generic.IReadOnlyDictionary<string, float>) =
        if isNull m then ""
        else m |> Seq.map (fun kv -> sprintf " %s%s %s" prefix (short kv.Key) (number kv.Value)) |> String.concat ""
    let v =
        if r.ValidationLoss.HasValue then
            sprintf " val_loss %s%s" (number r.ValidationLoss.Value) (metrics "val_" r.ValidationMetrics)
        else ""
    sprintf "loss %s%s%s" (number r.TrainLoss) (metrics "" r.Metrics) v

/// The plain line of an epoch: `epoch 3/10  loss ...  val_loss ...  N samples/s`.
let epochLine (total: int) (r: EpochReport) =
    sprintf "epoch %*d/%d  %s  %s samples/s" (string total).Length (r.Epoch + 1) total (measures r)
        (r.SamplesPerSec.ToString("N0", inv))

/// Whether to draw a live bar: standard output is a terminal that understands cursor movement.
let interactive =
    lazy
        (not Console.IsOutputRedirected
         && Environment.GetEnvironmentVariable "TERM" <> "dumb"
         && String.IsNullOrEmpty(Environment.GetEnvironmentVariable "CI"))

/// Called after every epoch.
type Reporter = EpochReport -> unit

/// The bar as text, `[######----------]`: visible without colour. Spectre's own bar tells done from to-do by colour
/// alone, so under NO_COLOR (which removes colour, not the bar) it would be blank.
let barText (width: int) (fraction: float) =
    let filled = int (Math.Round(float width * Math.Clamp(fraction, 0.0, 1.0)))
    "[" + String('#', filled) + String('-', width - filled) + "]"

type private TextBarColumn(width: int) =
    inherit ProgressColumn()
    override _.Render(_, task, _) =
        Text(barText width (if task.MaxValue > 0.0 then task.Value / task.MaxValue else 0.0)) :> Rendering.IRenderable

/// Runs `body` with a reporter for epochs `first`..`total`-1. Plain mode prints every `every`-th epoch (and the
/// first and last); live mode shows a bar and prints the same lines above it. `quiet` prints nothing per epoch.
/// Whether the epoch line of `r` is printed while training epochs `first`..`total`-1 (every `every`-th, the first
/// and the last); the caller prints the line of an epoch that ended training early itself.
let shownWhile (total: int) (first: int) (every: int) (r: EpochReport) =
    (r.Epoch + 1) % every = 0 || r.Epoch = first || r.Epoch + 1 = total

let run (total: int) (first: int) (every: int) (quiet: bool) (body: Reporter -> 'a) : 'a =
    let shown = shownWhile total first every
    if quiet then body ignore
    elif not interactive.Value || total = first then body (fun r -> if shown r then printfn "%s" (epochLine total r))
    else
        let progress =
            AnsiConsole.Progress()
                .AutoClear(true)
                .HideCompleted(true)
                .Columns(
                    [| TaskDescriptionColumn(Alignment = Justify.Left) :> ProgressColumn
                       (if Output.useColor.Value then ProgressBarColumn(Width = Nullable 16) :> ProgressColumn
                        else TextBarColumn 16)
                       RemainingTimeColumn() |])
        progress.Start(
            Func<ProgressContext, 'a>(fun ctx ->
                let task = ctx.AddTask(sprintf "epoch %d/%d" (first + 1) total, true, float total)
                task.Value <- float first
                body (fun r ->
                    if shown r then AnsiConsole.WriteLine(epochLine total r)
                    task.Value <- float (r.Epoch + 1)
                    let rate = r.SamplesPerSec.ToString("N0", inv)
                    let text = sprintf "epoch %d/%d %s %s/s" (r.Epoch + 1) total (compact r) rate
                    task.Description <- Markup.Escape text)))
