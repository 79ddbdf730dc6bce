import Foundation
import VMoECLI

exit(VMoECommand.main(Array(CommandLine.arguments.dropFirst())))
