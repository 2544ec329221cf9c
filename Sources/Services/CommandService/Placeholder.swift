// CommandService
