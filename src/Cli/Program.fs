/// The `nn` command: one module per verb in Commands/, listed here.
module internal Nn.Cli.Program

open System
open System.Runtime.InteropServices
open Nn.Cli.Commands

/// Every command, in the order `nn --help` lists them.
let commands: Command list =
    [ Check.command; Fmt.command; Summary.command; Graph.command; Train.command; Eval.command; Predict.command
      Grad.command; Export.command ]

// Made at every start (module initialisation): concatenated, not sprintf or an interpolated string (F#'s printf
// machinery parses a format through reflection: it costs the native command's start; issue #18).
let version = Nn.Compiler.Checkpoint.version

let usage () =
    let width = commands |> List.map (fun c -> c.Name.Length) |> List.max
    let lines =
        commands |> List.map (fun c -> sprintf "  %s  %s" (c.Name.PadRight width) c.Summary) |> String.concat "\n"
    sprintf """nn %s — a language for neural networks

Usage: nn COMMAND [ARGS...]      (nn COMMAND --help for a command's options and examples)

Commands:
%s

Options: --help, --version
Exit codes: 0 ok, 1 a user error (the program, the data or the command line), 2 an internal error.
Set NO_COLOR to disable colour; output is plain when it is not a terminal.""" version lines

let dispatch (argv: string list) =
    match argv with
    | [] ->
        // a bare `nn` is a command line missing its command: the usage goes to standard error, exit code 1
        eprintfn "%s" (usage ())
        1
    | [ "--help" | "-h" | "help" ] ->
        printfn "%s" (usage ())
        0
    | [ "--version" ] ->
        stdout.WriteLine("nn " + version)
        0
    | verb :: rest ->
        match commands |> List.tryFind (fun c -> c.Name = verb) with
        | Some c when rest |> List.exists (fun a -> a = "--help" || a = "-h") ->
            printfn "%s" c.Help
            0
        | Some c -> c.Run rest
        | None when verb.StartsWith "-" -> Command.usageError (sprintf "unknown option `%s`" verb)
        | None -> Command.usageError (sprintf "unknown command `%s`" verb)

[<Struct; StructLayout(LayoutKind.Sequential)>]
type private RLimit =
    val mutable Current: uint64
    val mutable Maximum: uint64

[<DllImport("libc", EntryPoint = "getrlimit")>]
extern int private getrlimit(int resource, RLimit& limit)

/// Whether this (main) thread's stack may grow to 8 MB or more: its limit (RLIMIT_STACK, 3 on Linux and macOS), the
/// usual default; the parser then runs on it instead of on a thread of its own (ParserStack).
let private mainStackIsLarge () =
    (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
    && (let mutable l = RLimit() in getrlimit (3, &l) = 0 && l.Current >= 8UL * 1024UL * 1024UL)

[<EntryPoint>]
let main argv =
    Launch.handOverIfChanged argv
    Nn.Dsl.Parser.ParserStack.Deep <- mainStackIsLarge ()
    try
        dispatch (List.ofArray argv)
    with e ->
        // An internal error: say so plainly, without a stack trace (set NN_DEBUG=1 to see it).
        eprintfn "nn: internal error: %s" e.Message
        if not (String.IsNullOrEmpty(Environment.GetEnvironmentVariable "NN_DEBUG")) then eprintfn "%O" e
        2
