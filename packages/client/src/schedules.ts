import type { CreateSchedule, ScheduleView } from './api-types.js';
import type { HttpTransport } from './http-transport.js';

/** Cron or interval schedules that submit a task at each tick. */
export class Schedules {
  constructor(private readonly http: HttpTransport) {}

  /** Not retried after a network error: a second create would make a second schedule. */
  async create(schedule: CreateSchedule, options: { signal?: AbortSignal } = {}): Promise<ScheduleView> {
    return (await this.http.request<ScheduleView>({ method: 'POST', path: '/v1/schedules', body: schedule, signal: options.signal })).body;
  }

  /** The caller's schedules, oldest first. */
  async list(options: { signal?: AbortSignal } = {}): Promise<ScheduleView[]> {
    return (await this.http.request<{ schedules: ScheduleView[] }>({ method: 'GET', path: '/v1/schedules', signal: options.signal })).body.schedules;
  }

  async get(id: string, options: { signal?: AbortSignal } = {}): Promise<ScheduleView> {
    return (await this.http.request<ScheduleView>({ method: 'GET', path: `/v1/schedules/${encodeURIComponent(id)}`, signal: options.signal })).body;
  }

  /** No tick fires after the answer; tasks already submitted are not touched. */
  async delete(id: string, options: { signal?: AbortSignal } = {}): Promise<{ id: string; deleted: boolean }> {
    return (await this.http.request<{ id: string; deleted: boolean }>({ method: 'DELETE', path: `/v1/schedules/${encodeURIComponent(id)}`, signal: options.signal })).body;
  }
}
