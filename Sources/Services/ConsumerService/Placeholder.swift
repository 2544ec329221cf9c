// ConsumerService
