/// Misuse of the prelude's sequence layers (rnn, lstm, gru, lastStep, bidirectional, embedding), checked when the
/// layer is called, before its body runs: NN0460–NN0464 name the layer and what it needs, at the user's argument,
/// instead of an error from inside the prelude's code.
module internal Nn.Compiler.LayerChecks

open Nn.Dsl
open Nn.Compiler
open Nn.Compiler.Context

let private recurrent = set [ "rnn"; "lstm"; "gru" ]

/// The span to report: the argument's when the user wrote it, else the call's.
let private at (call: Span) (arg: Span) = if arg.File = preludeFile then call else arg

/// A sequence argument of `layer`: a tensor [n, t, f] with a fixed number of steps t.
let private sequence (layer: string) (call: Span) (v: Value, s: Span) =
    match v with
    | VTensor x when x.Shape.Rank <> 3 ->
        fail "NN0460" (at call s)
            (sprintf "`%s` needs a sequence [n, t, f] (rows, steps, features), but this is %O (%d axes)"
                layer x.Shape x.Shape.Rank)
    | VTensor x when not x.Shape[1].IsFixed ->
        fail "NN0461" (at call s)
            (sprintf "`%s` unrolls its steps, so their number must be fixed, but the steps of %O are `%O`"
                layer x.Shape x.Shape[1])
    | _ -> ()

/// A count argument (units, vocab, dim): a positive whole number.
let private count (layer: string) (what: string) (call: Span) (v: Value, s: Span) =
    match v with
    | VNum(c, _) when c >= 1.0 && c = floor c -> ()
    | VNum(c, _) ->
        fail "NN0463" (at call s) (sprintf "`%s` needs %s as a positive whole number, got %g" layer what c)
    | _ -> ()

/// Is this value a recurrent layer waiting for its input: `lstm 16` (the prelude's rnn, lstm or gru with its units),
/// or a function of the program (which may be a recurrent layer of its own)?
let private isRecurrent (v: Value) =
    match v with
    | VClosure(c, applied) when c.Span.File = preludeFile ->
        (match c.Name with Some n -> recurrent.Contains n && applied.Length = 1 | None -> false)
    | VClosure _ | VCompose _ -> true
    | _ -> false

let private named (v: Value) =
    match v with
    | VClosure({ Name = Some n }, _) -> sprintf "`%s`" n
    | VBuiltin(b, _) -> sprintf "the built-in `%s`" b.Name
    | v -> Value.describe v

/// Checks the arguments of a call of the prelude's function `name` (nothing for the other functions).
let check (name: string) (call: Span) (args: (Value * Span) list) =
    match name, args with
    | ("rnn" | "lstm" | "gru"), [ units; x ] ->
        count name "the number of units" call units
        sequence name call x
    | "lastStep", [ x ] -> sequence name call x
    | "bidirectional", [ (layer, s); x ] ->
        if not (isRecurrent layer) then
            fail "NN0462" (at call s)
                (sprintf "`bidirectional` needs a recurrent layer such as `(lstm 16)`, but this is %s" (named layer))
        sequence name call x
    | "embedding", [ vocab; dim; (ids, s) ] ->
        count name "the vocabulary size" call vocab
        count name "the embedding width" call dim
        match ids with
        | VTensor _ -> ()
        | VNum(c, _) when c = floor c -> ()
        | v ->
            fail "NN0464" (at call s)
                (sprintf "`embedding` looks up whole-number ids (a tensor of ids 0..vocab-1), but this is %s"
                    (Value.describe v))
    | _ -> ()
