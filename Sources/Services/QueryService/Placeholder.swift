// QueryService
