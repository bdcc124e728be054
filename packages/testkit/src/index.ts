export { deleteKeys } from './delete-keys.js';
export { freePort } from './free-port.js';
export { RedisServer, type RedisServerOptions } from './redis-server.js';
export { redisCpuSeconds } from './redis-cpu.js';
export { testRedisUrl, testAmqpUrl, uniqueName } from './services.js';
export { waitUntil } from './wait-until.js';
export { PrometheusServer, type PrometheusJob, type PrometheusSample, type PrometheusServerOptions } from './prometheus-server.js';
export { RabbitmqServer, testBroker } from './rabbitmq-server.js';
export { taskFinished } from './task-finished.js';
