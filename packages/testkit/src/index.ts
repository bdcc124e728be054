export { freePort } from './free-port.js';
export { RedisServer } from './redis-server.js';
export { testRedisUrl, testAmqpUrl, uniqueName } from './services.js';
export { waitUntil } from './wait-until.js';
export { RabbitmqServer } from './rabbitmq-server.js';
