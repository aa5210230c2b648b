import CorralCLI

@main
struct Entry {
    static func main() async {
        await CorralCommand.main()
    }
}
