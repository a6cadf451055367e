import { ChannelsInput } from '../../common/ChannelsInput/ChannelsInput';
import { FilterEditor } from '../../common/FilterEditor/FilterEditor';
import type { FieldProblem } from '../../utils/filters';

export interface FilterSectionProps {
  filter: string;
  events: string[];
  channels: string[];
  channelText: string;
  problems: { filter?: FieldProblem; channels?: FieldProblem };
  onFilter: (text: string) => void;
  onChannels: (channels: string[], pending: string) => void;
}

/** The endpoint form's "Filter and channels": its own chunk, loaded with the form. */
export function FilterSection(p: FilterSectionProps) {
  return (
    <div class="stack">
      <FilterEditor text={p.filter} events={p.events} saved={p.problems.filter} onText={p.onFilter} />
      <ChannelsInput value={p.channels} pending={p.channelText} saved={p.problems.channels} onChange={p.onChannels} />
    </div>
  );
}
