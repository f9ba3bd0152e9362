/// The `nn` command: parses the command line and dispatches to one command module per verb.
module Nn.Cli.Program

open System
open Nn.Cli.Commands

let version =
    let v = typeof<Nn.Compiler.Value>.Assembly.GetName().Version
    sprintf "%d.%d.%d" v.Major v.Minor v.Build

let usage =
    """nn — a language for neural networks

Usage: nn COMMAND [ARGS...]

Commands:
  check FILE...        check programs (syntax, names, shapes) without reading data
  fmt FILE... [--check] rewrite programs in the canonical layout
  summary FILE         parameters, shapes and sizes of each network (like Keras' summary)
  train FILE           train the network of a program's train block

Options: --help (also after a command), --version
Exit codes: 0 ok, 1 a user error (the program, the data or the command line), 2 an internal error.
Set NO_COLOR to disable colour; output is plain when it is not a terminal."""

let private usageError (message: string) =
    eprintfn "nn: %s" message
    eprintfn "Run `nn --help` for the commands."
    1

let private wantsHelp (args: string list) = args |> List.exists (fun a -> a = "--help" || a = "-h")

let dispatch (argv: string list) =
    match argv with
    | []
    | [ "--help" ]
    | [ "-h" ]
    | [ "help" ] ->
        printfn "%s" usage
        0
    | [ "--version" ] ->
        printfn "nn %s" version
        0
    | "check" :: rest when wantsHelp rest -> printfn "%s" Check.help; 0
    | "check" :: [] -> usageError "`nn check` needs at least one FILE"
    | "check" :: files -> Check.run files
    | "fmt" :: rest when wantsHelp rest -> printfn "%s" Fmt.help; 0
    | "fmt" :: rest ->
        let files = rest |> List.filter (fun a -> a <> "--check")
        if files.IsEmpty then usageError "`nn fmt` needs at least one FILE"
        else Fmt.run files (List.contains "--check" rest)
    | "summary" :: rest when wantsHelp rest -> printfn "%s" Summary.help; 0
    | "summary" :: file :: rest ->
        match rest with
        | [] -> Summary.run file None
        | [ "--network"; n ] -> Summary.run file (Some n)
        | _ -> usageError "usage: nn summary FILE [--network NAME]"
    | "train" :: rest when wantsHelp rest -> printfn "%s" Train.help; 0
    | "train" :: file :: rest when not (file.StartsWith "-") ->
        let rec parse (o: Train.Options) args =
            match args with
            | [] -> Ok o
            | "--quiet" :: tail -> parse { o with Quiet = true } tail
            | "--train" :: name :: tail -> parse { o with Train = Some name } tail
            | "--set" :: setting :: tail ->
                match setting.IndexOf '=' with
                | i when i > 0 -> parse { o with Sets = o.Sets @ [ setting.Substring(0, i).Trim(), setting.Substring(i + 1) ] } tail
                | _ -> Error(sprintf "--set needs FIELD=VALUE, got `%s`" setting)
            | a :: _ -> Error(sprintf "unknown option `%s` for `nn train`" a)
        match parse { File = file; Train = None; Sets = []; Quiet = false } rest with
        | Ok o -> Train.run o
        | Error m -> usageError m
    | [ "train" ] -> usageError "`nn train` needs a FILE"
    | cmd :: _ -> usageError (sprintf "unknown command `%s`" cmd)

[<EntryPoint>]
let main argv =
    try
        dispatch (List.ofArray argv)
    with e ->
        // An internal error: say so plainly, without a stack trace (set NN_DEBUG=1 to see it).
        eprintfn "nn: internal error: %s" e.Message
        if not (String.IsNullOrEmpty(Environment.GetEnvironmentVariable "NN_DEBUG")) then eprintfn "%O" e
        2
