import CorralCLI

@main
struct Entry {
    static func main() async {
        let args = CommandLine.arguments
        await CorralCommand.main(CorralCommand.arguments(invokedAs: args.first ?? "corral", Array(args.dropFirst())))
    }
}
