import Foundation
import VMoECLI

exit(ConvertCommand.main(Array(CommandLine.arguments.dropFirst())))
